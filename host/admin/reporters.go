package admin

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/host"
	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/report"
)

// listReporters is the reporters part of `plugins list`: each reporter of
// reporting.order, whether it loads, and its backlog in the spool. It
// returns how many do not load.
func listReporters(ctx context.Context, cfg *config.Config, stdout io.Writer, now time.Time) int {
	if !cfg.Reporting.Enabled() {
		fmt.Fprintln(stdout, "\nreporters: none (reporting.order is empty)")
		return 0
	}
	backlogs, berr := report.Spool{Dir: cfg.Reporting.SpoolDir}.Backlogs(cfg.Reporting.Order)
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tREPORTER\tSTATUS\tBACKLOG\tOLDEST\tSOURCE")
	bad := 0
	statuses := host.InspectReporters(ctx, cfg)
	for i, st := range statuses {
		status := "verified"
		if st.Err != nil {
			status = "NOT VERIFIED"
			bad++
		}
		backlog, oldest := "?", "-"
		if berr == nil {
			b := backlogs[i]
			backlog = fmt.Sprint(b.Entries)
			if b.Entries > 0 {
				oldest = now.Sub(b.Oldest).Round(time.Second).String()
			}
		}
		src := st.Path
		if st.Kind != "" {
			src += " (" + st.Kind + ")"
		}
		if src == "" {
			src = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, st.Name, status, backlog, oldest, src)
	}
	tw.Flush()
	for i, st := range statuses {
		if st.Err != nil {
			fmt.Fprintf(stdout, "\n%s: %v\n", st.Name, st.Err)
		}
		if berr == nil && backlogs[i].LastError != "" {
			fmt.Fprintf(stdout, "\n%s: last delivery failed (%d in a row, next try %s): %s\n", st.Name,
				backlogs[i].Failures, backlogs[i].NextTry.Format(time.RFC3339), backlogs[i].LastError)
		}
	}
	if berr != nil {
		fmt.Fprintf(stdout, "\nspool %s unreadable: %v\n", cfg.Reporting.SpoolDir, berr)
	}
	return bad
}
