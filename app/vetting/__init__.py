"""The commission's vetting of products: submissions, reviews, labels."""
