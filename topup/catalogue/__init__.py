"""Countries, their mobile operators and the products each operator sells."""
