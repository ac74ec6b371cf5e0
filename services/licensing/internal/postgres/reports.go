package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/jackc/pgx/v5"
)

// Record writes one validation step and its audit event in one transaction.
func (s *Store) Record(ctx context.Context, o license.Outcome) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if o.NewReport != nil {
			if err := insertReport(ctx, tx, *o.NewReport); err != nil {
				return err
			}
		}
		if len(o.SentIDs) > 0 {
			if _, err := tx.Exec(ctx, "UPDATE usage_reports SET sent_at = $2 WHERE report_id = ANY($1) AND sent_at IS NULL",
				o.SentIDs, o.At); err != nil {
				return fmt.Errorf("mark usage reports sent: %w", err)
			}
		}
		if o.ReceiptFor != "" && o.ValidatedAt != nil {
			if _, err := tx.Exec(ctx, "UPDATE usage_reports SET receipt_validated_at = $2 WHERE report_id = $1",
				o.ReceiptFor, *o.ValidatedAt); err != nil {
				return fmt.Errorf("record receipt: %w", err)
			}
		}
		if o.ValidatedAt != nil {
			if _, err := tx.Exec(ctx, "UPDATE licenses SET last_validated_at = GREATEST(last_validated_at, $1) WHERE active",
				*o.ValidatedAt); err != nil {
				return fmt.Errorf("record validation: %w", err)
			}
		}
		return s.append(ctx, tx, o.Event)
	})
}

func insertReport(ctx context.Context, tx pgx.Tx, r license.Report) error {
	_, err := tx.Exec(ctx, `INSERT INTO usage_reports
		(report_id, license_id, installation_id, mode, runner_count, version, at, period_start, period_end)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ReportID, r.LicenseID, r.InstallationID, r.Mode, r.RunnerCount, r.Version, r.At,
		nullTime(r.PeriodStart), nullTime(r.PeriodEnd))
	if err != nil {
		return fmt.Errorf("store usage report: %w", err)
	}
	return nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

const reportColumns = "report_id, license_id, installation_id::text, runner_count, version, at, period_start, period_end"

func scanReport(row pgx.Row, extra ...any) (licfile.UsageReport, error) {
	var r licfile.UsageReport
	var start, end *time.Time
	dest := append([]any{&r.ReportID, &r.LicenseID, &r.InstallationID, &r.RunnerCount, &r.Version, &r.At, &start, &end}, extra...)
	if err := row.Scan(dest...); err != nil {
		return r, err
	}
	if start != nil {
		r.PeriodStart = *start
	}
	if end != nil {
		r.PeriodEnd = *end
	}
	return r, nil
}

// PendingReports lists the online reports the portal has not taken yet, oldest first.
func (s *Store) PendingReports(ctx context.Context) ([]licfile.UsageReport, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+reportColumns+
		" FROM usage_reports WHERE mode = 'online' AND sent_at IS NULL ORDER BY at, report_id")
	if err != nil {
		return nil, fmt.Errorf("list queued usage reports: %w", err)
	}
	defer rows.Close()
	var out []licfile.UsageReport
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, fmt.Errorf("list queued usage reports: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountPending counts the online reports the portal has not taken yet.
func (s *Store) CountPending(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM usage_reports WHERE mode = 'online' AND sent_at IS NULL").Scan(&n); err != nil {
		return 0, fmt.Errorf("count queued usage reports: %w", err)
	}
	return n, nil
}

// LastReportAt is when the newest report of mode for licenseID was made.
func (s *Store) LastReportAt(ctx context.Context, licenseID, mode string) (time.Time, error) {
	var at *time.Time
	if err := s.pool.QueryRow(ctx, "SELECT max(at) FROM usage_reports WHERE license_id = $1 AND mode = $2",
		licenseID, mode).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("last usage report: %w", err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return *at, nil
}

// FindReport returns a report by id, or an errs.NotFound error.
func (s *Store) FindReport(ctx context.Context, reportID string) (license.Report, error) {
	var rep license.Report
	r, err := scanReport(s.pool.QueryRow(ctx, "SELECT "+reportColumns+
		", mode, sent_at, receipt_validated_at FROM usage_reports WHERE report_id = $1", reportID),
		&rep.Mode, &rep.SentAt, &rep.ReceiptAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return rep, errs.Ef(errs.NotFound, "no usage report %s", reportID)
	}
	if err != nil {
		return rep, fmt.Errorf("find usage report: %w", err)
	}
	rep.UsageReport = r
	return rep, nil
}
