// Package runners is the NATS contract of the runners service (v1).
package runners

// SubjectCount answers how many runners are registered (license usage).
const SubjectCount = "exekra.runners.v1.runners.count"

// CountRequest has no fields.
type CountRequest struct{}

// Count is the number of registered runners.
type Count struct {
	Runners int `json:"runners"`
}
