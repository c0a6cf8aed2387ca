-- The minimal SQL of one purchase, for pgbench: the baseline of bench/checkout.py.
--
-- One transaction: the guarded debit of a teacher's credit account (its RETURNING gives
-- the teacher and the credit left), then, only when the debit matched a row, the journal
-- entry, its two postings in ONE statement (the statement trigger checks the entry
-- balances), the order, its line, the pending licence, its provisioning job, the vendor's
-- invoice (its number taken from the counter in one upsert, the invoice, its line, the PDF
-- job), the audit event, the teacher's notification and its mail job: the rows
-- place_order() writes (since 6 December 2026 a checkout also bills and tells the
-- teacher), in the order that needs no UPDATE afterwards.
-- A refused debit (credit too low) commits nothing else.
--
-- Every variable is an integer given with -D by bench/checkout.py (cast in the SQL, so
-- that -M extended and -M prepared work too). bench/checkout.py checks the layout they
-- assume: teacher credit accounts, products, versions, vendors and vendor payable
-- accounts have consecutive ids; product p (0-based) costs first_price + p * price_step
-- cents and belongs to vendor p / products_per_vendor; teacher (user) u teaches in school
-- (u - 1) % schools + 1. No string literal holds a colon followed by a letter: pgbench
-- would take it for a variable.
-- The licence insert skips a teacher who already holds the product (the app refuses it).

\set i random(0, :teachers - 1)
\set account :first_account + :i
\set p random(0, :products - 1)
\set product :first_product + :p
\set version :first_version + :p
\set vendor :first_vendor + :p / :products_per_vendor
\set payable :first_payable + :p / :products_per_vendor
\set price :first_price + :p * :price_step
\set debit -1 * :price
\set vat (2 * :price * :vat_rate_bp + 10000 + :vat_rate_bp) / (2 * (10000 + :vat_rate_bp))
BEGIN;
WITH debit AS (
    UPDATE ledger_account SET balance_cents = balance_cents - :price::bigint
    WHERE id = :account::int AND balance_cents >= :price::bigint
    RETURNING user_id, balance_cents
)
SELECT count(*) AS debited, coalesce(max(user_id), 0) AS teacher,
       coalesce(max(balance_cents), 0) AS credit_after
FROM debit \gset
\if :debited
\set school (:teacher - 1) % :schools + 1
INSERT INTO journal_entry (kind, idempotency_key, reference, memo, created_by, created_at)
VALUES ('purchase', 'pgbench:' || gen_random_uuid(), 'pgbench', 'pgbench', :teacher::int,
        now());
INSERT INTO posting (entry_id, account_id, amount_cents)
VALUES (currval('journal_entry_id_seq'), :account::int, :debit::bigint),
       (currval('journal_entry_id_seq'), :payable::int, :price::bigint);
INSERT INTO "order" (teacher_id, school_id, academy_code, school_year_code, idempotency_key,
                     total_cents, credit_after_cents, entry_id, created_at)
VALUES (:teacher::int, :school::int, lpad(:academy::int::text, 2, '0'),
        :year::int || '-' || (:year::int + 1), 'pgbench:' || gen_random_uuid(),
        :price::bigint, :credit_after::bigint, currval('journal_entry_id_seq'), now());
INSERT INTO order_line (order_id, product_id, version_id, vendor_id, title, plan_kind, seats,
                        price_cents, vat_rate_bp, vat_cents, status)
VALUES (currval('order_id_seq'), :product::int, :version::int, :vendor::int,
        'Ressource ' || :p::int, 'teacher', 1, :price::bigint, :vat_rate_bp::int, :vat::bigint,
        'paid');
INSERT INTO licence (product_id, version_id, vendor_id, plan_kind, seats, teacher_id, school_id,
                     school_year_code, valid_from, valid_until, status, created_at, updated_at,
                     order_line_id)
VALUES (:product::int, :version::int, :vendor::int, 'teacher', 1, :teacher::int, :school::int,
        :year::int || '-' || (:year::int + 1), current_date, make_date(:year::int + 1, 8, 31),
        'pending', now(), now(), currval('order_line_id_seq'))
ON CONFLICT DO NOTHING;
INSERT INTO job (kind, payload, key, status, attempts, max_attempts, run_after, created_at)
VALUES ('provision', json_build_object('licence_id', currval('licence_id_seq')),
        'provision:' || 'licence:' || currval('licence_id_seq'), 'queued', 0,
        :max_attempts::int, now(), now())
ON CONFLICT DO NOTHING;
INSERT INTO invoice_counter (vendor_id, kind, year, last_number)
VALUES (:vendor::int, 'invoice', :year::int, 1)
ON CONFLICT (vendor_id, kind, year) DO UPDATE SET last_number = invoice_counter.last_number + 1
RETURNING last_number AS sequence \gset
INSERT INTO invoice (kind, vendor_id, year, sequence, number, order_id, academy_code, issued_at,
                     issued_on, seller_name, seller_legal_form, seller_siret, seller_vat_number,
                     seller_street, seller_postcode, seller_city, mandate_accepted_on,
                     buyer_name, teacher_name, school_name, school_city, school_uai,
                     total_excl_vat_cents, vat_cents, total_incl_vat_cents)
VALUES ('invoice', :vendor::int, :year::int, :sequence::int,
        'F-' || :year::int || '-' || lpad(:sequence::int::text, 6, '0'), currval('order_id_seq'),
        lpad(:academy::int::text, 2, '0'), now(), current_date, 'Éditeur ' || :vendor::int,
        'SAS', '12345678900011', 'FR12345678900', '1 rue de la Paix', '75002', 'Paris',
        current_date, 'Rectorat de l''académie — service budgétaire', 'Enseignant ' || :teacher::int,
        'Établissement ' || :school::int, 'Ville', '0000000A', :price::bigint - :vat::bigint,
        :vat::bigint, :price::bigint);
INSERT INTO invoice_line (invoice_id, order_line_id, title, description, quantity,
                          unit_price_excl_vat_cents, vat_rate_bp, vat_cents,
                          total_excl_vat_cents, total_incl_vat_cents)
VALUES (currval('invoice_id_seq'), currval('order_line_id_seq'), 'Ressource ' || :p::int,
        'Licence enseignant — année scolaire ' || :year::int || '-' || (:year::int + 1), 1,
        :price::bigint - :vat::bigint, :vat_rate_bp::int, :vat::bigint,
        :price::bigint - :vat::bigint, :price::bigint);
INSERT INTO job (kind, payload, key, status, attempts, max_attempts, run_after, created_at)
VALUES ('invoices.render', json_build_object('invoice', currval('invoice_id_seq')),
        'invoice-pdf:' || currval('invoice_id_seq'), 'queued', 0, :max_attempts::int, now(),
        now())
ON CONFLICT DO NOTHING;
INSERT INTO audit_event (created_at, actor_id, action, object_type, object_id, details)
VALUES (now(), :teacher::int, 'order.placed', 'order', currval('order_id_seq')::text,
        json_build_object('total_cents', :price::bigint));
INSERT INTO notification (user_id, event, key, payload, created_at)
VALUES (:teacher::int, 'order_confirmed', 'order-confirmed:' || currval('order_id_seq'),
        json_build_object('order', currval('order_id_seq')), now())
ON CONFLICT DO NOTHING;
INSERT INTO job (kind, payload, key, status, attempts, max_attempts, run_after, created_at)
VALUES ('mail', json_build_object('message', 'order_confirmed', 'to',
                                  'enseignant' || :teacher::int || '@example.org',
                                  'order', currval('order_id_seq'), 'user', :teacher::int),
        'mail' || chr(58) || 'order_confirmed' || chr(58) || 'order-confirmed' || chr(58)
        || currval('order_id_seq') || chr(58) || :teacher::int, 'queued', 0,
        :max_attempts::int, now(), now())
ON CONFLICT DO NOTHING;
\endif
COMMIT;
