package console_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
)

// A test double of the runners service's assets: canned answers on their
// real subjects, with the roles the service enforces and the values of
// credential and secret assets never handed back.

type fakeAssets struct {
	items      []runners.Asset
	secrets    map[string]json.RawMessage // "<asset>/<scope key>" -> the value of a write-only asset
	lastList   runners.ListAssetsRequest
	lastCreate *runners.CreateAssetRequest
	lastUpdate *runners.UpdateAssetRequest
	lastSet    *runners.SetAssetValueRequest
	lastUnset  *runners.AssetValueRequest
}

func newFakeAssets() fakeAssets {
	build := "build-01"
	return fakeAssets{secrets: map[string]json.RawMessage{}, items: []runners.Asset{
		{ID: "a-1", Name: "API_URL", Type: runners.AssetText, Description: "where the API is", CreatedBy: devUser.ID, CreatedAt: publishedAt,
			UpdatedBy: devUser.ID, UpdatedAt: publishedAt, Values: []runners.AssetValue{
				{Scope: runners.ScopeGlobal, Value: json.RawMessage(`"https://api.example.com"`), Version: 2, UpdatedBy: devUser.ID, UpdatedAt: publishedAt},
				{Scope: runners.ScopeEnvironment, Environment: runners.EnvProduction, Value: json.RawMessage(`"https://prod.example.com"`),
					Version: 1, UpdatedBy: adminUser.ID, UpdatedAt: publishedAt},
			}},
		{ID: "a-2", Name: "DB_LOGIN", Type: runners.AssetCredential, WriteOnly: true, CreatedBy: devUser.ID, CreatedAt: publishedAt,
			UpdatedBy: devUser.ID, UpdatedAt: publishedAt, Values: []runners.AssetValue{
				{Scope: runners.ScopeRunner, RunnerID: "r-1", RunnerName: &build, Value: json.RawMessage(`null`), Version: 1,
					UpdatedBy: devUser.ID, UpdatedAt: publishedAt},
			}},
		{ID: "a-3", Name: "RETRIES", Type: runners.AssetInteger, CreatedBy: devUser.ID, CreatedAt: publishedAt,
			UpdatedBy: devUser.ID, UpdatedAt: publishedAt, Values: []runners.AssetValue{}},
		{ID: "a-4", Name: "VERBOSE", Type: runners.AssetBoolean, CreatedBy: devUser.ID, CreatedAt: publishedAt,
			UpdatedBy: devUser.ID, UpdatedAt: publishedAt, Values: []runners.AssetValue{}},
		{ID: "a-5", Name: "TOKEN", Type: runners.AssetSecret, WriteOnly: true, CreatedBy: devUser.ID, CreatedAt: publishedAt,
			UpdatedBy: devUser.ID, UpdatedAt: publishedAt, Values: []runners.AssetValue{}},
	}}
}

func (f *fakeHub) findAsset(name string) int {
	return slices.IndexFunc(f.assets.items, func(a runners.Asset) bool { return strings.EqualFold(a.Name, name) })
}

// assetAuthor refuses a caller below DEVELOPER, as the runners service does.
func assetAuthor(ctx context.Context) error {
	if !identity.RoleAtLeast(caller.ActorFromContext(ctx).Role, identity.RoleDeveloper) {
		return errs.E(errs.PermissionDenied, "assets are changed by a DEVELOPER or an ADMIN")
	}
	return nil
}

// asset is the asset named, for a handler holding the lock.
func (f *fakeHub) asset(name string) (*runners.Asset, error) {
	i := f.findAsset(name)
	if i < 0 {
		return nil, errs.Ef(errs.NotFound, "no asset is named %q", name)
	}
	return &f.assets.items[i], nil
}

// sameScope reports whether v is the value r names.
func sameScope(v runners.AssetValue, r runners.AssetValueRequest) bool {
	return v.Scope == r.Scope && v.Environment == r.Environment && v.RunnerID == r.RunnerID
}

// checkValue refuses a value of the wrong type, as the service does.
func checkValue(typ string, raw json.RawMessage) error {
	var ok bool
	switch typ {
	case runners.AssetInteger:
		var n int64
		ok = json.Unmarshal(raw, &n) == nil
	case runners.AssetBoolean:
		var b bool
		ok = json.Unmarshal(raw, &b) == nil
	case runners.AssetCredential:
		var c runners.Credential
		ok = json.Unmarshal(raw, &c) == nil && c.Username != "" && c.Password != ""
	default:
		var s string
		ok = json.Unmarshal(raw, &s) == nil && s != ""
	}
	if !ok {
		return errs.Ef(errs.InvalidArgument, "the value is not one of a %s asset", typ)
	}
	return nil
}

func (f *fakeHub) assetsEndpoints() []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(runners.SubjectAssetList, func(_ context.Context, r runners.ListAssetsRequest) (runners.ListAssetsResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.assets.lastList = r
			if r.Type != "" && !slices.Contains(runners.AssetTypes, r.Type) {
				return runners.ListAssetsResponse{}, errs.Ef(errs.InvalidArgument, "type must be one of %s", strings.Join(runners.AssetTypes, ", "))
			}
			out := runners.ListAssetsResponse{Items: []runners.Asset{}}
			for _, a := range f.assets.items {
				if r.Type == "" || a.Type == r.Type {
					out.Items = append(out.Items, a)
				}
			}
			if r.Cursor == "" && len(out.Items) > 1 && r.Type == "" {
				out.NextCursor = "more"
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectAssetGet, func(_ context.Context, r runners.AssetRequest) (runners.Asset, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			a, err := f.asset(r.Name)
			if err != nil {
				return runners.Asset{}, err
			}
			return *a, nil
		}),
		natsrpc.Handle(runners.SubjectAssetCreate, func(ctx context.Context, r runners.CreateAssetRequest) (runners.Asset, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.assets.lastCreate = &r
			if err := assetAuthor(ctx); err != nil {
				return runners.Asset{}, err
			}
			switch {
			case r.Name == "" || strings.ContainsAny(r.Name, " -"):
				return runners.Asset{}, errs.E(errs.InvalidArgument, "name must be 1 to 64 letters, digits or underscores, not starting with a digit")
			case !slices.Contains(runners.AssetTypes, r.Type):
				return runners.Asset{}, errs.E(errs.InvalidArgument, "type must be one of text, integer, boolean, credential, secret")
			case f.findAsset(r.Name) >= 0:
				return runners.Asset{}, errs.Ef(errs.Conflict, "an asset named %q already exists (names are unique whatever their case)", r.Name)
			}
			a := runners.Asset{ID: "a-new", Name: r.Name, Type: r.Type, Description: r.Description, WriteOnly: runners.AssetWriteOnly(r.Type),
				Values: []runners.AssetValue{}, CreatedBy: caller.ActorFromContext(ctx).ID, CreatedAt: publishedAt, UpdatedAt: publishedAt}
			f.assets.items = append(f.assets.items, a)
			return a, nil
		}),
		natsrpc.Handle(runners.SubjectAssetUpdate, func(ctx context.Context, r runners.UpdateAssetRequest) (runners.Asset, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.assets.lastUpdate = &r
			if err := assetAuthor(ctx); err != nil {
				return runners.Asset{}, err
			}
			a, err := f.asset(r.Name)
			if err != nil {
				return runners.Asset{}, err
			}
			if r.Description != nil && len(*r.Description) > 20 {
				return runners.Asset{}, errs.E(errs.InvalidArgument, "description must be at most 20 characters")
			}
			if r.Description != nil {
				a.Description = *r.Description
			}
			return *a, nil
		}),
		natsrpc.Handle(runners.SubjectAssetDelete, func(ctx context.Context, r runners.AssetRequest) (runners.AssetDeleted, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := assetAuthor(ctx); err != nil {
				return runners.AssetDeleted{}, err
			}
			i := f.findAsset(r.Name)
			if i < 0 {
				return runners.AssetDeleted{}, errs.Ef(errs.NotFound, "no asset is named %q", r.Name)
			}
			f.assets.items = slices.Delete(f.assets.items, i, i+1)
			return runners.AssetDeleted{Name: r.Name, Deleted: true}, nil
		}),
		natsrpc.Handle(runners.SubjectAssetValueSet, f.setAssetValue),
		natsrpc.Handle(runners.SubjectAssetValueDelete, func(ctx context.Context, r runners.AssetValueRequest) (runners.Asset, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.assets.lastUnset = &r
			if err := assetAuthor(ctx); err != nil {
				return runners.Asset{}, err
			}
			a, err := f.asset(r.Name)
			if err != nil {
				return runners.Asset{}, err
			}
			i := slices.IndexFunc(a.Values, func(v runners.AssetValue) bool { return sameScope(v, r) })
			if i < 0 {
				return runners.Asset{}, errs.E(errs.NotFound, "no such value")
			}
			a.Values = slices.Delete(a.Values, i, i+1)
			return *a, nil
		}),
	}
}

func (f *fakeHub) setAssetValue(ctx context.Context, r runners.SetAssetValueRequest) (runners.Asset, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assets.lastSet = &r
	if err := assetAuthor(ctx); err != nil {
		return runners.Asset{}, err
	}
	a, err := f.asset(r.Name)
	if err != nil {
		return runners.Asset{}, err
	}
	switch {
	case r.Scope == runners.ScopeEnvironment && !slices.Contains(runners.Environments, r.Environment):
		return runners.Asset{}, errs.E(errs.InvalidArgument, "environment must be one of Development, Staging, Production")
	case r.Scope == runners.ScopeRunner && f.findRunner(r.RunnerID) < 0:
		return runners.Asset{}, errs.E(errs.InvalidArgument, "runner_id names no registered runner")
	case r.Scope != runners.ScopeGlobal && r.Scope != runners.ScopeEnvironment && r.Scope != runners.ScopeRunner:
		return runners.Asset{}, errs.E(errs.InvalidArgument, "scope must be global, environment or runner")
	}
	if err := checkValue(a.Type, r.Value); err != nil {
		return runners.Asset{}, err
	}
	v := runners.AssetValue{Scope: r.Scope, Environment: r.Environment, RunnerID: r.RunnerID, Value: r.Value, Version: 1,
		UpdatedBy: caller.ActorFromContext(ctx).ID, UpdatedAt: publishedAt}
	if a.WriteOnly {
		f.assets.secrets[a.Name+"/"+r.Scope+r.Environment+r.RunnerID] = r.Value
		v.Value = json.RawMessage(`null`)
	}
	if r.RunnerID != "" {
		name := f.runners.items[f.findRunner(r.RunnerID)].Name
		v.RunnerName = &name
	}
	if i := slices.IndexFunc(a.Values, func(old runners.AssetValue) bool { return sameScope(old, r.AssetValueRequest) }); i >= 0 {
		v.Version = a.Values[i].Version + 1
		a.Values[i] = v
	} else {
		a.Values = append(a.Values, v)
	}
	return *a, nil
}
