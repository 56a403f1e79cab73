"""Reading ledger, unit and target workbooks as clerks really write them."""
