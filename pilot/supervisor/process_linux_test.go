package supervisor

import (
	"syscall"
	"testing"

	"github.com/exekra/hub/pilot/pgcluster"
)

func TestSysProcAttr(t *testing.T) {
	attr, err := sysProcAttr(Spec{StopSignal: syscall.SIGINT, Credential: credentialOf(&pgcluster.Owner{UID: 120, GID: 130})})
	if err != nil {
		t.Fatal(err)
	}
	if !attr.Setpgid || attr.Pdeathsig != syscall.SIGINT {
		t.Fatalf("attr = %+v, want its own process group and the stop signal as parent-death signal", attr)
	}
	c := attr.Credential
	if c == nil || c.Uid != 120 || c.Gid != 130 || c.Groups == nil || len(c.Groups) != 0 {
		t.Fatalf("credential = %+v, want uid 120, gid 130 and no supplementary groups", c)
	}
	attr, err = sysProcAttr(Spec{StopSignal: syscall.SIGTERM, Credential: credentialOf(nil)})
	if err != nil || attr.Credential != nil {
		t.Fatalf("without an owner: attr = %+v, %v; want no credential (the supervisor's user)", attr, err)
	}
}
