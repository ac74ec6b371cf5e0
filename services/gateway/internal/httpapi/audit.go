package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/gin-gonic/gin"
)

// auditFilter reads actor, action, target, since and until from the query string.
func auditFilter(c *gin.Context) (audit.QueryRequest, error) {
	q := audit.QueryRequest{Actor: c.Query("actor"), Action: c.Query("action"), Target: c.Query("target")}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if raw := c.Query(name); raw != "" {
			t, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				return q, errs.Ef(errs.InvalidArgument, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", name, raw)
			}
			*dst = t
		}
	}
	return q, nil
}

// auditPage is GET /api/v1/audit.
type auditPage struct {
	Items      []audit.Record `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

func (s *Server) listAudit(c *gin.Context) error {
	q, err := auditFilter(c)
	if err != nil {
		return err
	}
	if q.Limit, err = pageLimit(c); err != nil {
		return err
	}
	if cur := c.Query("cursor"); cur != "" {
		if q.BeforeSeq, err = strconv.ParseInt(cur, 10, 64); err != nil || q.BeforeSeq < 1 {
			return errs.E(errs.InvalidArgument, "cursor is not one this API gave out")
		}
	}
	resp, err := natsrpc.Call[audit.QueryResponse](c.Request.Context(), s.NATS, audit.SubjectQuery, q)
	if err != nil {
		return err
	}
	page := auditPage{Items: resp.Items}
	if page.Items == nil {
		page.Items = []audit.Record{}
	}
	if resp.More && len(resp.Items) > 0 {
		page.NextCursor = strconv.FormatInt(resp.Items[len(resp.Items)-1].Seq, 10)
	}
	c.JSON(http.StatusOK, page)
	return nil
}

// exportAudit streams the log oldest first, a page at a time, so memory stays
// constant whatever the log's size.
func (s *Server) exportAudit(c *gin.Context) error {
	q, err := auditFilter(c)
	if err != nil {
		return err
	}
	format := c.DefaultQuery("format", "jsonl")
	if format != "jsonl" && format != "csv" {
		return errs.Ef(errs.InvalidArgument, "format must be jsonl or csv, not %q", format)
	}
	q.Ascending, q.Limit = true, 1000
	first, err := natsrpc.Call[audit.QueryResponse](c.Request.Context(), s.NATS, audit.SubjectQuery, q)
	if err != nil {
		return err // nothing written yet: a proper error response
	}
	name := "exekra-audit-" + time.Now().UTC().Format("20060102T150405Z") + "." + format
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	w := newExportWriter(c, format)
	page := first
	for {
		for _, r := range page.Items {
			w.write(r)
		}
		if !page.More || len(page.Items) == 0 {
			break
		}
		q.AfterSeq = page.Items[len(page.Items)-1].Seq
		if page, err = natsrpc.Call[audit.QueryResponse](c.Request.Context(), s.NATS, audit.SubjectQuery, q); err != nil {
			s.Log.ErrorContext(c.Request.Context(), "audit export cut short", "after_seq", q.AfterSeq, "err", err)
			break // headers are sent; the truncated file ends without its last line
		}
	}
	w.flush()
	return nil
}

type exportWriter struct {
	c   *gin.Context
	csv *csv.Writer
	enc *json.Encoder
}

func newExportWriter(c *gin.Context, format string) *exportWriter {
	w := &exportWriter{c: c}
	if format == "csv" {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		w.csv = csv.NewWriter(c.Writer)
		w.csv.Write([]string{"seq", "id", "at", "actor_type", "actor_id", "actor_email", "action", "target_type", "target_id",
			"outcome", "reason", "source_ip", "request_id", "service", "details", "prev_hash", "hash"})
	} else {
		c.Header("Content-Type", "application/x-ndjson")
		w.enc = json.NewEncoder(c.Writer)
	}
	c.Status(http.StatusOK)
	return w
}

func (w *exportWriter) write(r audit.Record) {
	if w.enc != nil {
		w.enc.Encode(r)
		return
	}
	details, _ := json.Marshal(r.Details)
	w.csv.Write([]string{strconv.FormatInt(r.Seq, 10), r.ID, r.At.Format(time.RFC3339Nano), r.Actor.Type, r.Actor.ID, r.Actor.Email,
		r.Action, r.Target.Type, r.Target.ID, r.Outcome, r.Reason, r.SourceIP, r.RequestID, r.Service, string(details), r.PrevHash, r.Hash})
}

func (w *exportWriter) flush() {
	if w.csv != nil {
		w.csv.Flush()
	}
	w.c.Writer.Flush()
}

func (s *Server) verifyAudit(c *gin.Context) error {
	return forward(c, s, audit.SubjectVerify, audit.VerifyRequest{}, http.StatusOK)
}

func (s *Server) auditCheckpoints(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	return forward(c, s, audit.SubjectCheckpoints, audit.CheckpointsRequest{Limit: limit}, http.StatusOK)
}
