"""The shop's database: schema, order facts, the case log, agent feedback, sample orders."""
