// Package health is the status contract every back-end service answers on
// exekra.<service>.v1.status, used by the gateway's /api/health.
package health

// Services lists the back-end services the gateway checks, in display order.
var Services = []string{"identity", "licensing", "runners", "audit"}

// StatusSubject is the subject of a service's status endpoint.
func StatusSubject(service string) string { return "exekra." + service + ".v1.status" }

// StatusRequest asks for a status; it has no fields.
type StatusRequest struct{}

// Status is what one service instance reports about itself.
type Status struct {
	Service       string      `json:"service"`
	Version       string      `json:"version"`
	Commit        string      `json:"commit"`
	Instance      string      `json:"instance"`
	UptimeSeconds float64     `json:"uptime_seconds"`
	Database      Dependency  `json:"database"`
	Redis         *Dependency `json:"redis,omitempty"`
}

// Dependency is the state of one thing a service needs.
type Dependency struct {
	Status    string  `json:"status"` // up | down
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Up and Down are the two states of a dependency.
const (
	Up   = "up"
	Down = "down"
)
