package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

// auditPageSize is how many events one page of the table shows.
const auditPageSize = 50

// auditForm is the search form as typed; since and until are datetime-local
// values, read as UTC.
type auditForm struct {
	Actor, Action, Target, Since, Until string
}

type auditData struct {
	Form        auditForm
	Items       []audit.Record
	Older       string // link to the next older page; "" when there is none
	Newest      string // link back to the newest page while paging
	ExportJSONL string
	ExportCSV   string
	Verified    bool   // the chain walk succeeded and found it intact
	Verify      string // the outcome of the chain walk, in a sentence
}

func (con *Console) auditPage(c *gin.Context) {
	f := auditForm{Actor: c.Query("actor"), Action: c.Query("action"), Target: c.Query("target"),
		Since: c.Query("since"), Until: c.Query("until")}
	d := auditData{Form: f}
	d.Verified, d.Verify = con.verifyChain(c)
	q, err := f.query(c.Query("cursor"))
	if err != nil {
		con.show(c, statusOf(err), "audit", page{Title: "Audit log", Error: con.inline(c, err), Data: d})
		return
	}
	resp, err := call[audit.QueryResponse](c, con, audit.SubjectQuery, q)
	if err != nil {
		con.fail(c, err)
		return
	}
	d.Items = resp.Items
	if resp.More && len(resp.Items) > 0 {
		d.Older = "/audit?" + f.values("cursor", strconv.FormatInt(resp.Items[len(resp.Items)-1].Seq, 10)).Encode()
	}
	if q.BeforeSeq > 0 {
		d.Newest = "/audit?" + f.values().Encode()
	}
	d.ExportJSONL, d.ExportCSV = exportLink(q, "jsonl"), exportLink(q, "csv")
	con.show(c, http.StatusOK, "audit", page{Title: "Audit log", Data: d})
}

// verifyChain walks the hash chain and says what it found.
func (con *Console) verifyChain(c *gin.Context) (bool, string) {
	v, err := call[audit.VerifyResponse](c, con, audit.SubjectVerify, audit.VerifyRequest{})
	switch {
	case err != nil:
		return false, "chain not verified: " + con.inline(c, err)
	case v.OK:
		return true, fmt.Sprintf("chain verified: %d events, head %s", v.Checked, v.HeadHash[:min(len(v.HeadHash), 12)])
	default:
		return false, fmt.Sprintf("chain BROKEN at seq %d: %s", v.FirstBadSeq, v.Reason)
	}
}

// query turns the form and the paging cursor into the audit service's request.
func (f auditForm) query(cursor string) (audit.QueryRequest, error) {
	q := audit.QueryRequest{Actor: f.Actor, Action: f.Action, Target: f.Target, Limit: auditPageSize}
	var err error
	if q.Since, err = parseUTC("since", f.Since); err != nil {
		return q, err
	}
	if q.Until, err = parseUTC("until", f.Until); err != nil {
		return q, err
	}
	if cursor != "" {
		if q.BeforeSeq, err = strconv.ParseInt(cursor, 10, 64); err != nil || q.BeforeSeq < 1 {
			return q, errs.E(errs.InvalidArgument, "That page link is broken; start from the newest events.")
		}
	}
	return q, nil
}

// parseUTC reads a datetime-local value (or an RFC 3339 time) as UTC; "" is no bound.
func parseUTC(field, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, raw, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errs.Ef(errs.InvalidArgument, "%s must be a date and time such as 2026-01-02T15:04 (UTC), not %q", field, raw)
}

// values is the form as a query string, plus extra key/value pairs.
func (f auditForm) values(extra ...string) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target, "since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

// exportLink is the API's export of the same search, times in RFC 3339.
func exportLink(q audit.QueryRequest, format string) string {
	v := url.Values{"format": {format}}
	for k, s := range map[string]string{"actor": q.Actor, "action": q.Action, "target": q.Target} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339))
	}
	return "/api/v1/audit/export?" + v.Encode()
}
