package store

import (
	"testing"
	"time"
)

func TestClampLimit(t *testing.T) {
	for _, tc := range []struct {
		in, want int
	}{
		{-5, DefaultLimit},
		{0, DefaultLimit},
		{1, 1},
		{DefaultLimit + 1, DefaultLimit + 1},
		{MaxLimit, MaxLimit},
		{MaxLimit + 1, MaxLimit},
		{1 << 40, MaxLimit},
	} {
		if got := clampLimit(tc.in); got != tc.want {
			t.Errorf("clampLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSQLiteTimeRoundTrip(t *testing.T) {
	in := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("CET", 3600))
	s := formatSQLiteTime(in)
	if s != "2026-03-04T04:06:07.123456Z" {
		t.Errorf("formatSQLiteTime = %q", s)
	}
	out, err := parseSQLiteTime(s)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Equal(in) || out.Location() != time.UTC {
		t.Errorf("round trip: %v (%v), want %v in UTC", out, out.Location(), in)
	}
	// Fixed width: text order is time order, even at a whole second.
	if a, b := formatSQLiteTime(in.Truncate(time.Second)), s; !(a < b) || len(a) != len(b) {
		t.Errorf("%q and %q do not sort as times", a, b)
	}
	if _, err := parseSQLiteTime("yesterday"); err == nil {
		t.Error("parseSQLiteTime accepted garbage")
	}
}

func TestMigrationsMatch(t *testing.T) {
	lite, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d; want the same, non-zero", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].version != pg[i].version || lite[i].name != pg[i].name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, lite[i].name, pg[i].name)
		}
		if i > 0 && lite[i].version <= lite[i-1].version {
			t.Errorf("versions not increasing at %s", lite[i].name)
		}
	}
}

func TestHasExtension(t *testing.T) {
	for name, want := range map[string]bool{
		"state.db":   true,
		"a.sqlite3":  true,
		"data":       false,
		".backplane": false,
		"trailing.":  false,
		"":           false,
	} {
		if got := hasExtension(name); got != want {
			t.Errorf("hasExtension(%q) = %v, want %v", name, got, want)
		}
	}
}
