"""Files in and out: records with line numbers, coded files, coding sheets, exports, Parquet."""
