package options

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Layers: where the option values came from. They label config sources.
const (
	LayerArgv  = "argv"
	LayerStdin = "stdin"
)

// Stdin limits. fenced sends well under 1 KiB; anything near these limits is
// junk, and a fence agent must never stall or balloon on junk.
const (
	MaxStdinBytes = 1 << 20
	MaxLineBytes  = 4096
)

// Parsed is the result of parsing argv or stdin.
type Parsed struct {
	Layer  string
	Values map[string]string // option Name -> raw value ("1"/"0" for argv flags)
	// Warnings are problems that did not stop parsing (unknown stdin keys,
	// junk lines). They are safe to print: no raw input bytes.
	Warnings []string
	// Subcommand is "config" or "plugins" when argv started with one;
	// SubArgs are the words after "plugins".
	Subcommand string
	SubArgs    []string
}

// Has reports whether the option was given.
func (p *Parsed) Has(name string) bool { _, ok := p.Values[name]; return ok }

// Flag reports whether a boolean command option (help, version...) was set.
func (p *Parsed) Flag(name string) bool {
	v, ok := p.Values[name]
	if !ok {
		return false
	}
	b, err := ParseBool(v)
	return err == nil && b
}

// Action is the requested action, "reboot" when none was given (the
// fence-agents default). It is returned as given (only trimmed): the caller
// rejects what IsAction does not know.
func (p *Parsed) Action() string {
	if v, ok := p.Values[Action]; ok && v != "" {
		return v
	}
	return "reboot"
}

// Target is the node being fenced: nodename (fenced always sends it, while
// port/plug may hold a pcmk_host_map alias such as a BMC name), then plug,
// then port.
func (p *Parsed) Target() string {
	for _, k := range []string{Nodename, Plug, Port} {
		if v := p.Values[k]; v != "" {
			return v
		}
	}
	return ""
}

// StorageTarget is the node a storage fence acts on: the NNF compute name
// nnf-sos matches byte for byte, which the device configures as port (or
// plug); nodename (Pacemaker's name, possibly different) only when neither
// is set.
func (p *Parsed) StorageTarget() string {
	for _, k := range []string{Plug, Port, Nodename} {
		if v := p.Values[k]; v != "" {
			return v
		}
	}
	return ""
}

// Overrides converts the options that map to configuration keys into the
// option layer for config loading. Values that do not parse are left out and
// reported, each error naming the option and the layer, so a caller can still
// use the valid ones (the recorder must record even with a bad delay=).
func (p *Parsed) Overrides() (map[string]any, []error) {
	out := map[string]any{}
	var errs []error
	for i := range Table {
		o := &Table[i]
		v, ok := p.Values[o.Name]
		if !ok || o.ConfigKey == "" {
			continue
		}
		val, err := o.convert(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s option %s: %w", p.Layer, o.Name, err))
			continue
		}
		out[o.ConfigKey] = val
	}
	return out, errs
}

// ConfigFile is the --config/config_file value, "" when not given.
func (p *Parsed) ConfigFile() string { return p.Values[ConfigFile] }

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

// ParseBool accepts the boolean spellings Pacemaker users write: 1/0,
// yes/no, on/off, true/false (any case). An empty value means true, as a bare
// "verbose" key does in fence-agents.
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "1", "yes", "y", "on", "true":
		return true, nil
	case "0", "no", "n", "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (want 1/0, yes/no, on/off, true/false): %s", Quote(v))
}

// ParseDelay parses a --delay value: whole or fractional seconds, 0 to
// MaxDelaySeconds.
func ParseDelay(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f != f { // f != f: NaN
		return 0, fmt.Errorf("not a number of seconds: %s", Quote(v))
	}
	if f < 0 || f > float64(MaxDelaySeconds) {
		return 0, fmt.Errorf("delay %s is outside 0..%d seconds", Quote(v), MaxDelaySeconds)
	}
	return time.Duration(f * float64(time.Second)), nil
}

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

// ParseStdin reads key=value lines the way pacemaker-fenced writes them.
// It never fails: every bad line becomes a warning and is skipped. Reading
// stops after MaxStdinBytes. Keys are trimmed, '-' means '_', the last value
// of a key wins, and surrounding quotes around a value are removed. Unknown
// keys (fenced passes device parameters, dlm_controld adds its own) are
// ignored with a warning.
func ParseStdin(r io.Reader) *Parsed {
	p := &Parsed{Layer: LayerStdin, Values: map[string]string{}}
	if r == nil {
		return p
	}
	cr := &countingReader{r: io.LimitReader(r, MaxStdinBytes+1)}
	br := bufio.NewReaderSize(cr, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, terminated, tooLong, err := readLine(br, MaxLineBytes)
		switch {
		case !terminated && cr.n > MaxStdinBytes:
			// The cap cut this line: never act on half a line.
			p.warn("stdin: more than %d bytes; line %d and the rest are ignored", MaxStdinBytes, lineNo)
		case tooLong:
			p.warn("stdin line %d: longer than %d bytes; ignored", lineNo, MaxLineBytes)
		default:
			p.parseLine(lineNo, line)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.warn("stdin: read error: %v", err)
			}
			return p
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

// readLine returns the next line without its "\n" (and "\r"), whether it
// ended in "\n", and whether it was longer than max (then it is consumed to
// its end and not returned).
func readLine(br *bufio.Reader, max int) (line []byte, terminated, tooLong bool, err error) {
	for {
		chunk, e := br.ReadSlice('\n')
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > max+2 { // +2: the "\r\n" does not count
				tooLong, line = true, nil
			}
		}
		if errors.Is(e, bufio.ErrBufferFull) {
			continue
		}
		terminated = e == nil
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		return line, terminated, tooLong, e
	}
}

func (p *Parsed) parseLine(n int, raw []byte) {
	line := bytes.TrimSpace(raw)
	if len(line) == 0 || line[0] == '#' {
		return
	}
	k, v, ok := bytes.Cut(line, []byte("="))
	if !ok {
		p.warn("stdin line %d: no '=' (want key=value); ignored: %s", n, Quote(string(line)))
		return
	}
	key := strings.ReplaceAll(string(bytes.TrimSpace(k)), "-", "_")
	if key == "" {
		p.warn("stdin line %d: empty key; ignored", n)
		return
	}
	if !printableASCII(key) {
		p.warn("stdin line %d: key is not printable ASCII; ignored: %s", n, Quote(key))
		return
	}
	o, known := Lookup(key)
	if !known {
		p.warn("stdin line %d: unknown key %s ignored", n, Quote(key))
		return
	}
	val := unquote(string(bytes.TrimSpace(v)))
	if o.Name == Action {
		val = strings.TrimSpace(val)
	}
	p.Values[o.Name] = val
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (p *Parsed) warn(format string, a ...any) {
	// A stream of junk lines must not become a stream of warnings.
	const maxWarnings = 50
	switch {
	case len(p.Warnings) < maxWarnings:
		p.Warnings = append(p.Warnings, fmt.Sprintf(format, a...))
	case len(p.Warnings) == maxWarnings:
		p.Warnings = append(p.Warnings, "stdin: too many bad lines; further warnings suppressed")
	}
}

// Quote renders untrusted text for messages: Go-quoted ASCII, cut to 80
// bytes, so no control byte or invalid UTF-8 reaches a terminal or a log.
func Quote(s string) string {
	const max = 80
	suffix := ""
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, suffix = s[:cut], fmt.Sprintf("...(%d bytes)", len(s))
	}
	return strconv.QuoteToASCII(s) + suffix
}
