package idemstore

// KVKey is the bucket key of (scope, key), for tests that read a record's
// server timestamp, from which its lease is measured.
var KVKey = kvKey
