"""Sales: customers, invoices, quotes and orders, quick sale, printable invoices."""
