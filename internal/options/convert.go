package options

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
)

func (o *Option) convert(v string) (any, error) {
	if o.Parse != nil {
		return o.Parse(v)
	}
	switch o.Kind {
	case Boolean:
		return ParseBool(v)
	case Second:
		return ParseDelay(v)
	case Integer:
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("not an integer: %s", Quote(v))
		}
		return n, nil
	default:
		return v, nil
	}
}

// ParseBool reads an argv or stdin boolean in config.BoolText's grammar
// (the configuration file's). An empty value means true, as a bare
// "verbose" key does in fence-agents.
func ParseBool(v string) (bool, error) {
	if strings.TrimSpace(v) == "" {
		return true, nil
	}
	if b, ok := config.BoolText(v); ok {
		return b, nil
	}
	return false, fmt.Errorf("not a boolean (want 1/0, yes/no, on/off, true/false): %s", Quote(v))
}

// ParseDelay parses a --delay value in config.DurationText's grammar (whole
// or fractional seconds, or "1m30s"), 0 to MaxDelaySeconds.
func ParseDelay(v string) (time.Duration, error) {
	d, ok := config.DurationText(v)
	if !ok {
		return 0, fmt.Errorf("not a number of seconds: %s", Quote(v))
	}
	if d < 0 || d > config.MaxDelay {
		return 0, fmt.Errorf("delay %s is outside 0..%d seconds", Quote(v), MaxDelaySeconds)
	}
	return d, nil
}
