package httpapi

import (
	"encoding/json"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// denied records a refused request in the audit log. The gateway owns no
// database, so the event goes straight to the AUDIT stream (acknowledged,
// de-duplicated by id); a refusal changes nothing, so there is no transaction
// to join.
func (s *Server) denied(c *gin.Context, access string, err error) {
	if s.JS == nil || errs.KindOf(err) == errs.Unavailable {
		return
	}
	info := caller.From(c.Request.Context())
	actor := audit.Actor{Type: audit.ActorUser, ID: info.Actor.ID, Email: info.Actor.Email, Role: info.Actor.Role, TokenID: info.Actor.TokenID}
	if info.Actor.Type != "user" {
		actor.ID = "anonymous"
	}
	_, msg := errs.Public(err)
	ev, nerr := audit.Normalize(audit.Event{
		ID: uuid.NewString(), At: time.Now(), Actor: actor, Action: "access.denied",
		Target:  audit.Target{Type: "route", ID: c.Request.Method + " " + c.FullPath()},
		Outcome: audit.Failure, Reason: msg, SourceIP: info.SourceIP, RequestID: info.RequestID,
		Service: "gateway", Version: buildinfo.Version, Details: map[string]any{"required": access},
	})
	if nerr != nil {
		return
	}
	data, _ := json.Marshal(ev)
	m := &nats.Msg{Subject: audit.SubjectEvents + ".gateway", Data: data}
	if _, perr := s.JS.PublishMsgAsync(m, jetstream.WithMsgID(ev.ID)); perr != nil {
		s.Log.WarnContext(c.Request.Context(), "audit a denied request", "err", perr)
	}
}
