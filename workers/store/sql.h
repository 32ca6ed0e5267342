// SQL fragments shared by repositories, as macros so they concatenate with the string-literal SQL
// constants at compile time.

#pragma once

// A timestamptz column as RFC 3339 UTC with milliseconds: 2026-11-22T10:00:00.123Z (API.md).
#define CHATD_SQL_TS(column) \
  "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
