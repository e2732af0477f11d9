package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// drTimeLayout is how times are written: ISO-8601 in UTC, milliseconds.
const drTimeLayout = "2006-01-02T15:04:05.000Z"

func drTime(t time.Time) string { return t.UTC().Format(drTimeLayout) }

func drTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := drTime(*t)
	return &s
}

// javaOffsetDateTime is the shape a Java OffsetDateTime takes when
// serialised field by field, as Digital River's own examples show it.
type javaOffsetDateTime struct {
	Offset *struct {
		TotalSeconds *int `json:"totalSeconds"`
	} `json:"offset"`
	Nano       *int `json:"nano"`
	Year       *int `json:"year"`
	MonthValue *int `json:"monthValue"`
	DayOfMonth *int `json:"dayOfMonth"`
	Hour       *int `json:"hour"`
	Minute     *int `json:"minute"`
	Second     *int `json:"second"`
}

// parseDRTime reads a timestamp given as an ISO-8601 string (RFC 3339, any
// offset) or as a Java OffsetDateTime object, and returns it in UTC.
func parseDRTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, errors.New("a timestamp is required")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, err
		}
		return parseISOTime(s)
	}
	var j javaOffsetDateTime
	if err := json.Unmarshal(raw, &j); err != nil {
		return time.Time{}, fmt.Errorf("not an ISO-8601 string or a date-time object: %v", err)
	}
	if j.Year == nil || j.MonthValue == nil || j.DayOfMonth == nil || j.Hour == nil || j.Minute == nil {
		return time.Time{}, errors.New("a date-time object needs year, monthValue, dayOfMonth, hour and minute")
	}
	sec, nano, off := 0, 0, 0
	if j.Second != nil {
		sec = *j.Second
	}
	if j.Nano != nil {
		nano = *j.Nano
	}
	if j.Offset != nil && j.Offset.TotalSeconds != nil {
		off = *j.Offset.TotalSeconds
	}
	switch {
	case *j.Year < 1 || *j.Year > 9999, *j.MonthValue < 1 || *j.MonthValue > 12, *j.DayOfMonth < 1 || *j.DayOfMonth > 31,
		*j.Hour < 0 || *j.Hour > 23, *j.Minute < 0 || *j.Minute > 59, sec < 0 || sec > 59,
		nano < 0 || nano > 999999999, off < -18*3600 || off > 18*3600:
		return time.Time{}, errors.New("a date-time object field is out of range")
	}
	t := time.Date(*j.Year, time.Month(*j.MonthValue), *j.DayOfMonth, *j.Hour, *j.Minute, sec, nano, time.FixedZone("", off))
	if t.Day() != *j.DayOfMonth {
		return time.Time{}, errors.New("the date-time object names a day the month does not have")
	}
	return t.UTC(), nil
}

// parseISOTime parses an ISO-8601 date-time (RFC 3339) string.
func parseISOTime(s string) (time.Time, error) {
	if len(s) > 64 {
		return time.Time{}, errors.New("timestamp too long")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an ISO-8601 date-time such as 2030-04-25T20:36:00Z")
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, errors.New("year out of range")
	}
	return t.UTC(), nil
}
