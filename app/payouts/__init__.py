"""Paying vendors: settlement runs, payouts, the payout gateway, statements, Stripe webhooks."""
