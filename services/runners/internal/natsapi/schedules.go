package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/schedule"
)

// ScheduleEndpoints lists the schedules and calendars operations (roles
// checked by the domain, whose values are the contract's).
func ScheduleEndpoints(svc *schedule.Service) []natsrpc.Endpoint {
	return append(scheduleEndpoints(svc), calendarEndpoints(svc)...)
}

func scheduleEndpoints(svc *schedule.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectScheduleCreate, func(ctx context.Context, req contract.ScheduleSpec) (contract.Schedule, error) {
			return shown(svc.CreateSchedule(ctx, req))
		}),
		natsrpc.Handle(contract.SubjectScheduleGet, func(ctx context.Context, req contract.ScheduleRequest) (contract.Schedule, error) {
			return shown(svc.Schedule(ctx, req.ID))
		}),
		natsrpc.Handle(contract.SubjectScheduleList, func(ctx context.Context, req contract.ListSchedulesRequest) (contract.ListSchedulesResponse, error) {
			page, err := svc.ListSchedules(ctx, req)
			if err != nil {
				return contract.ListSchedulesResponse{}, err
			}
			for i := range page.Items {
				page.Items[i] = ToSchedule(page.Items[i])
			}
			return page, nil
		}),
		natsrpc.Handle(contract.SubjectScheduleUpdate, func(ctx context.Context, req contract.UpdateScheduleRequest) (contract.Schedule, error) {
			return shown(svc.UpdateSchedule(ctx, req.ID, req.Spec))
		}),
		natsrpc.Handle(contract.SubjectScheduleDelete, func(ctx context.Context, req contract.ScheduleRequest) (contract.ScheduleDeleted, error) {
			return contract.ScheduleDeleted{}, svc.DeleteSchedule(ctx, req.ID)
		}),
		natsrpc.Handle(contract.SubjectSchedulePause, func(ctx context.Context, req contract.ScheduleRequest) (contract.Schedule, error) {
			return shown(svc.PauseSchedule(ctx, req.ID))
		}),
		natsrpc.Handle(contract.SubjectScheduleResume, func(ctx context.Context, req contract.ScheduleRequest) (contract.Schedule, error) {
			return shown(svc.ResumeSchedule(ctx, req.ID))
		}),
		natsrpc.Handle(contract.SubjectScheduleRun, func(ctx context.Context, req contract.RunScheduleRequest) (contract.ScheduleFire, error) {
			f, err := svc.RunNow(ctx, req.ID, req.IdempotencyKey)
			if err != nil {
				return contract.ScheduleFire{}, err
			}
			return f, nil
		}),
		natsrpc.Handle(contract.SubjectScheduleNext, func(ctx context.Context, req contract.NextFiresRequest) (contract.NextFires, error) {
			return svc.NextFires(ctx, req.ID, req.Count)
		}),
		natsrpc.Handle(contract.SubjectScheduleFires, func(ctx context.Context, req contract.ListFiresRequest) (contract.ListFiresResponse, error) {
			return svc.ListFires(ctx, req)
		}),
	}
}

func calendarEndpoints(svc *schedule.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectCalendarCreate, func(ctx context.Context, req contract.CalendarSpec) (contract.Calendar, error) {
			return svc.CreateCalendar(ctx, req)
		}),
		natsrpc.Handle(contract.SubjectCalendarGet, func(ctx context.Context, req contract.CalendarRequest) (contract.Calendar, error) {
			return svc.Calendar(ctx, req.ID)
		}),
		natsrpc.Handle(contract.SubjectCalendarList, func(ctx context.Context, req contract.ListCalendarsRequest) (contract.ListCalendarsResponse, error) {
			return svc.ListCalendars(ctx, req)
		}),
		natsrpc.Handle(contract.SubjectCalendarUpdate, func(ctx context.Context, req contract.UpdateCalendarRequest) (contract.Calendar, error) {
			return svc.UpdateCalendar(ctx, req.ID, req.Spec)
		}),
		natsrpc.Handle(contract.SubjectCalendarDelete, func(ctx context.Context, req contract.CalendarRequest) (contract.CalendarDeleted, error) {
			return contract.CalendarDeleted{}, svc.DeleteCalendar(ctx, req.ID)
		}),
	}
}

func shown(sc contract.Schedule, err error) (contract.Schedule, error) {
	if err != nil {
		return contract.Schedule{}, err
	}
	return ToSchedule(sc), nil
}

// ToSchedule shows a schedule as the contract does: lists empty, not null.
func ToSchedule(sc contract.Schedule) contract.Schedule {
	if sc.Labels == nil {
		sc.Labels = []string{}
	}
	if sc.CalendarIDs == nil {
		sc.CalendarIDs = []string{}
	}
	if len(sc.Parameters) == 0 {
		sc.Parameters = []byte(`{}`)
	}
	if sc.Version == "" {
		sc.Version = "latest"
	}
	return sc
}
