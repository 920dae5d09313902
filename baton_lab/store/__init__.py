"""The store: one DuckDB file, its pandera-declared tables, and the import that fills them."""
