package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The value parsers below turn what a layer holds (YAML scalars and lists,
// or strings typed by a person into the environment, argv or stdin) into
// typed values. decode.go hands them to mapstructure as its decode hooks,
// rather than using mapstructure's own weak typing, so that every message
// is ours and names the offending value, and so that the grammar is the
// one argv and stdin use (BoolText, DurationText).

// show renders a raw value for an error message: strings quoted, so that
// an empty or blank value is visible.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	case []any, []string:
		return fmt.Sprintf("%v", x)
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}

// parseString accepts a string, or a number (a numeric host name written
// unquoted in YAML is still a name).
func parseString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("%s is not a string", show(v))
}

// parseBool accepts the spellings fence-agents and shells use.
func parseBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case int64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case string:
		if b, ok := BoolText(x); ok {
			return b, nil
		}
	}
	return false, fmt.Errorf("%s is not a boolean (use true/false, yes/no, on/off or 1/0)", show(v))
}

// BoolText is the agent's one boolean grammar, for the file, the
// environment, argv and stdin alike: 1/0, yes/no, on/off, true/false,
// in any case, blanks around ignored.
func BoolText(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "on", "true":
		return true, true
	case "0", "no", "off", "false":
		return false, true
	}
	return false, false
}

// parseDuration accepts Go syntax ("5s", "1m30s") or a bare number of
// seconds, as fence-agents' delay=5 and as YAML numbers.
func parseDuration(v any) (time.Duration, error) {
	bad := fmt.Errorf("%s is not a duration", show(v))
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case int:
		return secondsToDuration(float64(x), bad)
	case int64:
		return secondsToDuration(float64(x), bad)
	case uint64:
		return secondsToDuration(float64(x), bad)
	case float64:
		return secondsToDuration(x, bad)
	case string:
		if d, ok := DurationText(x); ok {
			return d, nil
		}
	}
	return 0, bad
}

// DurationText is the agent's one duration grammar, for the file, the
// environment, argv and stdin alike: Go syntax ("5s", "1m30s") or a bare,
// possibly fractional, number of seconds (fence-agents' delay=5).
func DurationText(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d, err := secondsToDuration(f, errBadDuration)
		return d, err == nil
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

var errBadDuration = fmt.Errorf("not a duration")

func secondsToDuration(sec float64, bad error) (time.Duration, error) {
	if math.IsNaN(sec) || math.IsInf(sec, 0) || math.Abs(sec) > math.MaxInt64/float64(time.Second) {
		return 0, bad
	}
	return time.Duration(sec * float64(time.Second)), nil
}

// sizeUnits follows GNU coreutils: K, M, G, T and KiB... are powers of
// 1024; KB, MB, GB, TB are powers of 1000. Matching is case-insensitive.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// parseSize accepts a byte count or a number with a unit ("64MiB", "16M").
func parseSize(v any) (int64, error) {
	bad := fmt.Errorf("%s is not a size (use bytes or a unit like 64MiB, 16M)", show(v))
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, bad
		}
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt64 {
			return 0, bad
		}
		return int64(x), nil
	case string:
		s := strings.TrimSpace(x)
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || (i == 0 && s[i] == '-')) {
			i++
		}
		num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
		mult, ok := sizeUnits[unit]
		if num == "" || !ok {
			return 0, bad
		}
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			if n > math.MaxInt64/mult || n < math.MinInt64/mult {
				return 0, bad
			}
			return n * mult, nil
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, bad
		}
		f *= float64(mult)
		if f != math.Trunc(f) || math.Abs(f) >= math.MaxInt64 {
			return 0, bad
		}
		return int64(f), nil
	}
	return 0, bad
}

// parseList accepts a YAML list of scalars or a comma-separated string;
// blanks around items and empty items are dropped.
func parseList(v any) ([]string, error) {
	switch x := v.(type) {
	case []string:
		return append([]string{}, x...), nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, err := parseString(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		out := []string{}
		for _, part := range strings.Split(x, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not a list (use a YAML list or a comma-separated string)", show(v))
}

// formatSize prints a byte count with the largest binary unit that divides
// it exactly, so the effective config reads like what a person would type.
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
