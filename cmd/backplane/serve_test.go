package main

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "1d", want: 24 * time.Hour},
		{in: "720h", want: 720 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "0", want: 0},
		{in: "0d", want: 0},
		{in: " 7d ", want: 7 * 24 * time.Hour},
		{in: "", bad: true},
		{in: "d", bad: true},
		{in: "-1d", bad: true},
		{in: "-5h", bad: true},
		{in: "1.5d", bad: true},
		{in: "forever", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseRetention(tc.in)
			if tc.bad {
				if err == nil {
					t.Errorf("parseRetention(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseRetention(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}
