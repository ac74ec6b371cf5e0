package asset

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// Create records an asset (DEVELOPER and up); req.Value, when set, becomes
// its global value.
func (s *Service) Create(ctx context.Context, req runners.CreateAssetRequest) (runners.Asset, error) {
	if err := requireWriter(ctx, "creating an asset"); err != nil {
		return runners.Asset{}, err
	}
	if err := firstError(checkName(req.Name), checkType(req.Type), checkDescription(req.Description)); err != nil {
		return runners.Asset{}, err
	}
	now, by := s.now(), actorID(ctx)
	a := Stored{ID: uuid.NewString(), Name: req.Name, Type: req.Type, Description: req.Description,
		CreatedBy: by, CreatedAt: now, UpdatedBy: by, UpdatedAt: now}
	details := map[string]any{}
	if len(req.Value) > 0 && string(req.Value) != "null" {
		value, err := checkValue(req.Type, req.Value)
		if err != nil {
			return runners.Asset{}, err
		}
		k, err := s.keyring()
		if err != nil {
			return runners.Asset{}, err
		}
		sealed, err := k.Seal(value, envelope.AAD(a.ID, runners.ScopeGlobal, "", 1))
		if err != nil {
			return runners.Asset{}, fmt.Errorf("seal the value of asset %s: %w", a.Name, err)
		}
		a.Values = []StoredValue{{Scope: runners.ScopeGlobal, Version: 1, Sealed: sealed, UpdatedBy: by, UpdatedAt: now}}
		details["value"] = map[string]any{"scope": runners.ScopeGlobal, "version": 1}
	}
	if err := s.Store.CreateAsset(ctx, a, event(runners.ActionAssetCreate, a, details)); err != nil {
		return runners.Asset{}, err
	}
	return s.view(a)
}

// Get returns an asset with its values (write-only ones null).
func (s *Service) Get(ctx context.Context, name string) (runners.Asset, error) {
	if err := firstError(requireReader(ctx), checkLookup(name)); err != nil {
		return runners.Asset{}, err
	}
	a, err := s.Store.Asset(ctx, name)
	if err != nil {
		return runners.Asset{}, err
	}
	return s.view(a)
}

// List pages through assets by name.
func (s *Service) List(ctx context.Context, req runners.ListAssetsRequest) (runners.ListAssetsResponse, error) {
	if err := requireReader(ctx); err != nil {
		return runners.ListAssetsResponse{}, err
	}
	limit := req.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return runners.ListAssetsResponse{}, errs.Ef(errs.InvalidArgument, "limit must be from 1 to %d", MaxPageSize)
	}
	if req.Type != "" {
		if err := checkType(req.Type); err != nil {
			return runners.ListAssetsResponse{}, err
		}
	}
	after, err := decodeCursor(req.Cursor)
	if err != nil {
		return runners.ListAssetsResponse{}, err
	}
	as, err := s.Store.ListAssets(ctx, limit+1, after, req.Type)
	if err != nil {
		return runners.ListAssetsResponse{}, err
	}
	out := runners.ListAssetsResponse{Items: make([]runners.Asset, 0, len(as))}
	if len(as) > limit {
		as = as[:limit]
		last := as[limit-1]
		out.NextCursor = encodeCursor(Cursor{Name: last.Name, ID: last.ID})
	}
	for _, a := range as {
		v, err := s.view(a)
		if err != nil {
			return runners.ListAssetsResponse{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Update changes an asset's description (DEVELOPER and up).
func (s *Service) Update(ctx context.Context, req runners.UpdateAssetRequest) (runners.Asset, error) {
	if err := firstError(requireWriter(ctx, "changing an asset"), checkLookup(req.Name)); err != nil {
		return runners.Asset{}, err
	}
	a, err := s.Store.Asset(ctx, req.Name)
	if err != nil {
		return runners.Asset{}, err
	}
	if req.Description == nil {
		return s.view(a)
	}
	if err := checkDescription(*req.Description); err != nil {
		return runners.Asset{}, err
	}
	a, err = s.Store.UpdateAsset(ctx, a.ID, *req.Description, actorID(ctx), s.now(), event(runners.ActionAssetUpdate, a,
		map[string]any{"description_changed": a.Description != *req.Description}))
	if err != nil {
		return runners.Asset{}, err
	}
	return s.view(a)
}

// Delete deletes an asset and its values (DEVELOPER and up).
func (s *Service) Delete(ctx context.Context, name string) (runners.AssetDeleted, error) {
	if err := firstError(requireWriter(ctx, "deleting an asset"), checkLookup(name)); err != nil {
		return runners.AssetDeleted{}, err
	}
	a, err := s.Store.Asset(ctx, name)
	if err != nil {
		return runners.AssetDeleted{}, err
	}
	if err := s.Store.DeleteAsset(ctx, a.ID, event(runners.ActionAssetDelete, a, map[string]any{"values": len(a.Values)})); err != nil {
		return runners.AssetDeleted{}, err
	}
	return runners.AssetDeleted{Name: a.Name, Deleted: true}, nil
}

// SetValue sets (creates or replaces) one scope's value (DEVELOPER and up):
// checked against the asset's type, sealed for the asset, scope and its
// next version. A runner's value needs a registered runner.
func (s *Service) SetValue(ctx context.Context, req runners.SetAssetValueRequest) (runners.Asset, error) {
	if err := firstError(requireWriter(ctx, "setting an asset's value"), checkLookup(req.Name)); err != nil {
		return runners.Asset{}, err
	}
	sc, err := checkScope(req.AssetValueRequest)
	if err != nil {
		return runners.Asset{}, err
	}
	a, err := s.Store.Asset(ctx, req.Name)
	if err != nil {
		return runners.Asset{}, err
	}
	value, err := checkValue(a.Type, req.Value)
	if err != nil {
		return runners.Asset{}, err
	}
	if sc.Scope == runners.ScopeRunner {
		if _, err := s.Runners.RunnerByID(ctx, sc.Key); err != nil {
			if errs.Is(err, errs.NotFound) {
				return runners.Asset{}, errs.E(errs.InvalidArgument, "runner_id names no registered runner")
			}
			return runners.Asset{}, err
		}
	}
	k, err := s.keyring()
	if err != nil {
		return runners.Asset{}, err
	}
	v := StoredValue{Scope: sc.Scope, ScopeKey: sc.Key, UpdatedBy: actorID(ctx), UpdatedAt: s.now()}
	seal := func(version int) (envelope.Sealed, error) {
		return k.Seal(value, envelope.AAD(a.ID, sc.Scope, sc.Key, version))
	}
	ev := func(version int) audit.Event {
		return event(runners.ActionAssetValueSet, a, sc.details(map[string]any{"version": version}))
	}
	if _, err := s.Store.SetValue(ctx, a.ID, v, seal, ev); err != nil {
		return runners.Asset{}, err
	}
	return s.reread(ctx, a.Name)
}

// DeleteValue deletes one scope's value (DEVELOPER and up).
func (s *Service) DeleteValue(ctx context.Context, req runners.AssetValueRequest) (runners.Asset, error) {
	if err := firstError(requireWriter(ctx, "deleting an asset's value"), checkLookup(req.Name)); err != nil {
		return runners.Asset{}, err
	}
	sc, err := checkScope(req)
	if err != nil {
		return runners.Asset{}, err
	}
	a, err := s.Store.Asset(ctx, req.Name)
	if err != nil {
		return runners.Asset{}, err
	}
	d := map[string]any{}
	for _, v := range a.Values {
		if v.Scope == sc.Scope && v.ScopeKey == sc.Key {
			d["version"] = v.Version
		}
	}
	if err := s.Store.DeleteValue(ctx, a.ID, sc.Scope, sc.Key, event(runners.ActionAssetValueDelete, a, sc.details(d))); err != nil {
		if errs.Is(err, errs.NotFound) {
			return runners.Asset{}, errs.Ef(errs.NotFound, "asset %q has no %s value", a.Name, sc.describe())
		}
		return runners.Asset{}, err
	}
	return s.reread(ctx, a.Name)
}

func (s *Service) reread(ctx context.Context, name string) (runners.Asset, error) {
	a, err := s.Store.Asset(ctx, name)
	if err != nil {
		return runners.Asset{}, err
	}
	return s.view(a)
}

// view shows an asset to people: the values of write-only types null, the
// others opened.
func (s *Service) view(a Stored) (runners.Asset, error) {
	out := runners.Asset{ID: a.ID, Name: a.Name, Type: a.Type, Description: a.Description,
		WriteOnly: runners.AssetWriteOnly(a.Type), Values: make([]runners.AssetValue, 0, len(a.Values)),
		CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt.UTC(), UpdatedBy: a.UpdatedBy, UpdatedAt: a.UpdatedAt.UTC()}
	var k *envelope.Keyring
	for _, v := range a.Values {
		av := runners.AssetValue{Scope: v.Scope, Value: json.RawMessage("null"), Version: v.Version, UpdatedBy: v.UpdatedBy,
			UpdatedAt: v.UpdatedAt.UTC()}
		switch v.Scope {
		case runners.ScopeEnvironment:
			av.Environment = v.ScopeKey
		case runners.ScopeRunner:
			av.RunnerID, av.RunnerName = v.ScopeKey, v.RunnerName
		}
		if !out.WriteOnly {
			if k == nil {
				var err error
				if k, err = s.keyring(); err != nil {
					return runners.Asset{}, err
				}
			}
			value, err := open(k, a, v)
			if err != nil {
				return runners.Asset{}, err
			}
			av.Value = value
		}
		out.Values = append(out.Values, av)
	}
	return out, nil
}

// open opens a stored value; one that does not open (changed outside the
// Hub, moved to another row, or sealed under a key no longer in the key
// file) is an error naming the asset and scope, never a wrong value.
func open(k *envelope.Keyring, a Stored, v StoredValue) (json.RawMessage, error) {
	plain, err := k.Open(v.Sealed, envelope.AAD(a.ID, v.Scope, v.ScopeKey, v.Version))
	if err != nil {
		sc := scope{Scope: v.Scope, Key: v.ScopeKey}
		return nil, errs.Wrap(errs.Unavailable, fmt.Sprintf(
			"the %s value of asset %q cannot be opened (it was changed outside the Hub, or its key is not in the asset key file); set it again",
			sc.describe(), a.Name), err)
	}
	return json.RawMessage(plain), nil
}

func encodeCursor(c Cursor) string {
	b, _ := json.Marshal(c) // a struct of strings
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err != nil || json.Unmarshal(raw, &c) != nil || checkName(c.Name) != nil {
		return nil, errs.E(errs.InvalidArgument, "cursor is not one this service made")
	}
	if _, err := uuid.Parse(c.ID); err != nil || len(c.ID) != 36 {
		return nil, errs.E(errs.InvalidArgument, "cursor is not one this service made")
	}
	c.ID = strings.ToLower(c.ID)
	return &c, nil
}
