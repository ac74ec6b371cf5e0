package user

import (
	"context"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
)

// Update changes the fields that are set.
type Update struct {
	Name     *string
	Role     *string
	Disabled *bool
	Password *string
}

// ErrLastAdmin refuses to demote, disable or delete the last active administrator.
var ErrLastAdmin = errs.E(errs.LastAdmin,
	"this is the last active administrator; make another user ADMIN first")

// UpdateUser changes a user (ADMIN only). A role change, disabling or a new
// password ends the user's sessions in the same transaction.
func (s *Service) UpdateUser(ctx context.Context, id string, upd Update) (User, error) {
	if err := firstError(requireAdmin(ctx), checkID(id)); err != nil {
		return User{}, err
	}
	upd, err := normalizeUpdate(upd)
	if err != nil {
		return User{}, err
	}
	var newHash string
	if upd.Password != nil {
		// Hashed before the store takes its lock, which is then held briefly.
		if newHash, err = s.Hasher.Hash(ctx, *upd.Password); err != nil {
			return User{}, err
		}
	}
	u, err := s.Store.UpdateUser(ctx, id, func(u *User, activeAdmins int) (Change, error) {
		return applyUpdate(u, upd, newHash, activeAdmins)
	})
	if err == nil {
		s.sessionsChanged(ctx, u.ID)
	}
	return u, err
}

// normalizeUpdate validates the fields that are set.
func normalizeUpdate(upd Update) (Update, error) {
	if upd.Name != nil {
		name, err := NormalizeName(*upd.Name)
		if err != nil {
			return upd, err
		}
		upd.Name = &name
	}
	if upd.Role != nil {
		if err := CheckRole(*upd.Role); err != nil {
			return upd, err
		}
	}
	if upd.Password != nil {
		if err := CheckPassword(*upd.Password); err != nil {
			return upd, err
		}
	}
	return upd, nil
}

// changes collects what an update changed, for its audit event.
type changes struct {
	fields  []string
	details map[string]any
}

// apply sets *cur to *want when want is set and differs, and notes it.
func apply[T comparable](c *changes, field string, cur *T, want *T) bool {
	if want == nil || *cur == *want {
		return false
	}
	c.fields = append(c.fields, field)
	c.details[field] = map[string]any{"from": *cur, "to": *want}
	*cur = *want
	return true
}

// applyUpdate changes u as upd says, unless that would leave no active
// administrator. The event lists the changed fields, never a password.
func applyUpdate(u *User, upd Update, newHash string, activeAdmins int) (Change, error) {
	wasActiveAdmin := u.ActiveAdmin()
	c := &changes{fields: []string{}, details: map[string]any{}}
	apply(c, "name", &u.Name, upd.Name)
	roleChanged := apply(c, "role", &u.Role, upd.Role)
	disabledChanged := apply(c, "disabled", &u.Disabled, upd.Disabled)
	if newHash != "" {
		u.PasswordHash = newHash
		c.fields = append(c.fields, "password")
	}
	if wasActiveAdmin && !u.ActiveAdmin() && activeAdmins <= 1 {
		return Change{}, ErrLastAdmin
	}
	c.details["changed"] = c.fields
	c.details["email"] = u.Email
	end := roleChanged || (disabledChanged && u.Disabled) || newHash != ""
	if end {
		c.details["sessions_ended"] = true
	}
	return Change{EndSessions: end, Event: event("user.update", u.ID, c.details)}, nil
}

// DeleteUser deletes a user and its sessions (ADMIN only); the last active
// administrator stays.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if err := firstError(requireAdmin(ctx), checkID(id)); err != nil {
		return err
	}
	err := s.Store.DeleteUser(ctx, id, func(u User, activeAdmins int) (audit.Event, error) {
		if u.ActiveAdmin() && activeAdmins <= 1 {
			return audit.Event{}, ErrLastAdmin
		}
		return event("user.delete", u.ID, userDetails(u)), nil
	})
	if err == nil {
		s.sessionsChanged(ctx, id)
	}
	return err
}
