package options

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUsage wraps every argv parsing error.
var ErrUsage = errors.New("usage")

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, a...))
}

// ParseArgs parses argv (without the program name). Both "--key=value" and
// "--key value", "-o value" and "-ovalue" are accepted; '_' and '-' are
// interchangeable in long names. The first word that is not an option may be
// the subcommand "config" or "plugins"; everything after "plugins" belongs to
// the plugins admin command.
func ParseArgs(args []string) (*Parsed, error) {
	p := &Parsed{Layer: LayerArgv, Values: map[string]string{}}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case strings.HasPrefix(arg, "--") && len(arg) > 2:
			name, val, hasVal := strings.Cut(arg[2:], "=")
			o, ok := lookupLong(strings.ReplaceAll(name, "_", "-"))
			if !ok {
				return nil, usageErr("unknown option --%s", Quote(name))
			}
			if o.ArgName == "" { // a flag
				b := true
				if hasVal {
					var err error
					if b, err = ParseBool(val); err != nil {
						return nil, usageErr("option --%s: %v", o.Long, err)
					}
				}
				if o.Inverted {
					b = !b
				}
				p.Values[o.Name] = boolString(b)
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, usageErr("option --%s needs a value (--%s=[%s])", o.Long, o.Long, o.ArgName)
				}
				i++
				val = args[i]
			}
			p.Values[o.Name] = val
		case strings.HasPrefix(arg, "-") && len(arg) > 1 && arg != "--":
			// A cluster of short flags (-vv) optionally ending in one that
			// takes a value (-vo reboot, -oreboot).
			for j := 1; j < len(arg); j++ {
				c := arg[j : j+1]
				o, ok := lookupShort(c)
				if !ok {
					return nil, usageErr("unknown option -%s", Quote(c))
				}
				if o.ArgName == "" {
					p.Values[o.Name] = boolString(!o.Inverted)
					continue
				}
				val := arg[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, usageErr("option -%s needs a value (-%s [%s])", o.Short, o.Short, o.ArgName)
					}
					i++
					val = args[i]
				}
				p.Values[o.Name] = val
				break
			}
		default:
			if p.Subcommand != "" {
				return nil, usageErr("unexpected argument %s after the %s subcommand", Quote(arg), p.Subcommand)
			}
			switch arg {
			case SubPlugins, SubMarkers, SubUnfence:
				p.Subcommand, p.SubArgs = arg, append([]string{}, args[i+1:]...)
				return p, nil
			case SubConfig:
				p.Subcommand = SubConfig
			default:
				return nil, usageErr("unexpected argument %s (options start with - or --; subcommands are config, plugins, markers and unfence)", Quote(arg))
			}
		}
	}
	return p, nil
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
