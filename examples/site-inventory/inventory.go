package main

import (
	"errors"
	"path"
	"strconv"
	"strings"

	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// Command is the logical name of the granted command that prints the
// inventory; the administrator maps it to a program in commands.<name>.
const Command = "inventory"

// discover answers for one fence event: the filesystems of every inventory
// line that names req.Node, or matches it as a pattern, in file order.
//
// Strategy config (strategies.site-inventory.config):
//
//	patterns: false    only exact node names count (default true)
func discover(ctx plugin.Context, req plugin.Request) (plugin.Result, error) {
	log := ctx.Logger()
	res, err := ctx.Exec(Command)
	if err != nil {
		// Denied or not startable: the administrator must grant it.
		return plugin.Result{}, err
	}
	if err := res.Err(); err != nil {
		return plugin.Result{}, errors.New("reading the inventory: " + err.Error())
	}
	if res.StdoutTruncated {
		// A partial inventory could drop the very line we need and make an
		// incomplete answer look complete.
		return plugin.Result{}, errors.New("the inventory is larger than the command's output_cap; raise commands." + Command + ".output_cap")
	}

	inv, problems := parseInventory(res.Stdout)
	for _, p := range problems {
		log.Warn("inventory line skipped", "problem", p)
	}
	usePatterns := req.ConfigBool("patterns", true)
	fs, lines := inv.lookup(req.Node, usePatterns)
	log.Debug("inventory read", "entries", len(inv), "matching_lines", len(lines), "node", req.Node)

	details := map[string]any{
		"inventory_entries": len(inv),
		"matched_lines":     lines,
	}
	if len(problems) > 0 {
		details["skipped_lines"] = problems
	}
	return plugin.Result{Filesystems: fs, Details: details}, nil
}

// entry is one inventory line.
type entry struct {
	line        int
	pattern     string // node name or path.Match pattern
	filesystems []string
}

type inventory []entry

// parseInventory reads whitespace-separated lines; '#' starts a comment.
// A line it cannot use is reported and skipped, never fatal: one typo in
// the file must not hide every other node's filesystems.
func parseInventory(text []byte) (inventory, []string) {
	var inv inventory
	var problems []string
	for i, raw := range strings.Split(string(text), "\n") {
		n := i + 1
		if c := strings.IndexByte(raw, '#'); c >= 0 {
			raw = raw[:c]
		}
		fields := strings.Fields(raw)
		if len(fields) == 0 {
			continue
		}
		if _, err := path.Match(fields[0], ""); err != nil {
			problems = append(problems, "line "+strconv.Itoa(n)+": bad node pattern "+strconv.Quote(fields[0]))
			continue
		}
		if len(fields) == 1 {
			problems = append(problems, "line "+strconv.Itoa(n)+": node "+strconv.Quote(fields[0])+" has no filesystems")
			continue
		}
		inv = append(inv, entry{line: n, pattern: fields[0], filesystems: fields[1:]})
	}
	return inv, problems
}

// lookup returns the filesystems for node without duplicates, and the line
// numbers that contributed.
func (inv inventory) lookup(node string, usePatterns bool) ([]string, []string) {
	var fs, lines []string
	seen := map[string]bool{}
	for _, e := range inv {
		match := e.pattern == node
		if !match && usePatterns {
			match, _ = path.Match(e.pattern, node)
		}
		if !match {
			continue
		}
		lines = append(lines, strconv.Itoa(e.line))
		for _, f := range e.filesystems {
			if !seen[f] {
				seen[f] = true
				fs = append(fs, f)
			}
		}
	}
	return fs, lines
}
