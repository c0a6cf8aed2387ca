"""PDF documents (receipts, statements, reports) rendered with WeasyPrint."""
