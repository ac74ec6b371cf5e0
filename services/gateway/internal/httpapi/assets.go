package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// tagAssets groups the routes of assets.
const tagAssets = "Assets"

// Parameters of the asset routes.
var (
	paramAssetType    = Param{In: "query", Name: "type", Description: "Only assets of this type.", Schema: enumSchema(runners.AssetTypes)}
	paramAssetAttempt = Param{In: "query", Name: runners.QueryAssetsAttempt, Schema: intSchema(0, 1<<30, 0),
		Description: "The attempt the agent runs (its claim's attempt); 0 or absent means the job's current attempt."}
)

// assetPatch is the body of PATCH /api/v1/assets/{name}: the name and the
// type never change.
type assetPatch struct {
	Description *string `json:"description"`
}

// assetRoutes are the route table's entries of assets. Reading takes any
// signed-in role (the values of credential and secret assets are never
// shown); changing takes DEVELOPER. The runners service checks the role
// again.
func (s *Server) assetRoutes() []Route {
	const audited = " Audited as "
	const valueText = " A value that is not of the asset's type (a string for text and secret, an integer, a boolean, " +
		"or {\"username\",\"password\"} with both non-empty for a credential) or over 16 KiB is a 400 invalid_argument naming what is wrong; " +
		"the value itself is never echoed, logged or audited."
	writeOnly := " The answer never holds the values of credential and secret assets (their value is null)."
	return []Route{
		{Method: http.MethodGet, Path: runners.PathAssets, Summary: "List assets", Access: Operator, Handle: s.listAssets,
			ID: "listAssets", Tag: tagAssets,
			Description: "A page of assets, by name, filtered by type, each with its values by scope. An unknown type is a 400 invalid_argument." + writeOnly,
			Params:      append(slices.Clone(paramsPage), paramAssetType),
			Replies:     []Reply{jsonReply[runners.ListAssetsResponse](http.StatusOK, "A page of assets; next_cursor is empty after the last.")}},
		{Method: http.MethodPost, Path: runners.PathAssets, Summary: "Create an asset", Access: Developer, Handle: s.createAsset,
			ID: "createAsset", Tag: tagAssets,
			Description: "Creates an asset: a name (a letter or _ then letters, digits and _, at most 64, unique regardless of case), a type and a description; " +
				"value, when sent, becomes its global value. A bad name, type or description is a 400 invalid_argument naming the field; a name in use is a 409 conflict." +
				valueText + audited + runners.ActionAssetCreate + " (and " + runners.ActionAssetValueSet + " for a value).",
			Body:    jsonBody[runners.CreateAssetRequest](),
			Replies: []Reply{jsonReply[runners.Asset](http.StatusCreated, "The new asset.")},
			Errors:  []int{http.StatusConflict, http.StatusServiceUnavailable}},
		{Method: http.MethodGet, Path: runners.PathAsset, Summary: "Read an asset", Access: Operator, Handle: s.getAsset,
			ID: "getAsset", Tag: tagAssets,
			Description: "One asset and its values by scope: global first, then each environment, then each runner by name." + writeOnly,
			Replies:     []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset.")}},
		{Method: http.MethodPatch, Path: runners.PathAsset, Summary: "Change an asset's description", Access: Developer, Handle: s.updateAsset,
			ID: "updateAsset", Tag: tagAssets,
			Description: "Changes the description (the name and the type never change: make a new asset instead). A description over 1000 characters is a 400 invalid_argument." +
				audited + runners.ActionAssetUpdate + ".",
			Body:    jsonBody[assetPatch](),
			Replies: []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset as changed.")}},
		{Method: http.MethodDelete, Path: runners.PathAsset, Summary: "Delete an asset and its values", Access: Developer, Handle: s.deleteAsset,
			ID: "deleteAsset", Tag: tagAssets,
			Description: "Deletes the asset and every value of it. A job of a package declaring it is refused from then on (409 asset_missing) until it exists again with a value." +
				audited + runners.ActionAssetDelete + ".",
			Replies: []Reply{emptyReply(http.StatusNoContent, "The asset is gone.")}},
		{Method: http.MethodPut, Path: runners.PathAssetGlobalValue, Summary: "Set an asset's global value", Access: Developer, Handle: s.setAssetValue(runners.ScopeGlobal),
			ID: "setAssetGlobalValue", Tag: tagAssets,
			Description: "Sets (creates or replaces) the value every runner gets unless its environment or itself has one of its own." +
				valueText + audited + runners.ActionAssetValueSet + " with the scope and the new version.",
			Body:    jsonBody[runners.AssetValueBody](),
			Replies: []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset with its values.")},
			Errors:  []int{http.StatusServiceUnavailable}},
		{Method: http.MethodDelete, Path: runners.PathAssetGlobalValue, Summary: "Delete an asset's global value", Access: Developer, Handle: s.deleteAssetValue(runners.ScopeGlobal),
			ID: "deleteAssetGlobalValue", Tag: tagAssets,
			Description: "Deletes the global value; an asset without it is a 404." + audited + runners.ActionAssetValueDelete + ".",
			Replies:     []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset with its values.")}},
		{Method: http.MethodPut, Path: runners.PathAssetEnvironmentValue, Summary: "Set an asset's value for an environment", Access: Developer,
			Handle: s.setAssetValue(runners.ScopeEnvironment), ID: "setAssetEnvironmentValue", Tag: tagAssets,
			Description: "Sets (creates or replaces) the value the runners of the environment get unless a runner has one of its own. The environment is Development, Staging or Production in any case; another is a 400 invalid_argument." +
				valueText + audited + runners.ActionAssetValueSet + " with the scope and the new version.",
			Body:    jsonBody[runners.AssetValueBody](),
			Replies: []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset with its values.")},
			Errors:  []int{http.StatusServiceUnavailable}},
		{Method: http.MethodDelete, Path: runners.PathAssetEnvironmentValue, Summary: "Delete an asset's value for an environment", Access: Developer,
			Handle: s.deleteAssetValue(runners.ScopeEnvironment), ID: "deleteAssetEnvironmentValue", Tag: tagAssets,
			Description: "Deletes the environment's value; an asset without one for it is a 404." + audited + runners.ActionAssetValueDelete + ".",
			Replies:     []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset with its values.")}},
		{Method: http.MethodPut, Path: runners.PathAssetRunnerValue, Summary: "Set an asset's value for one runner", Access: Developer,
			Handle: s.setAssetValue(runners.ScopeRunner), ID: "setAssetRunnerValue", Tag: tagAssets,
			Description: "Sets (creates or replaces) the value this runner gets, before any other. An unknown runner is a 404." +
				valueText + audited + runners.ActionAssetValueSet + " with the scope and the new version.",
			Body:    jsonBody[runners.AssetValueBody](),
			Replies: []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset with its values.")},
			Errors:  []int{http.StatusServiceUnavailable}},
		{Method: http.MethodDelete, Path: runners.PathAssetRunnerValue, Summary: "Delete an asset's value for one runner", Access: Developer,
			Handle: s.deleteAssetValue(runners.ScopeRunner), ID: "deleteAssetRunnerValue", Tag: tagAssets,
			Description: "Deletes the runner's value; an asset without one for it is a 404." + audited + runners.ActionAssetValueDelete + ".",
			Replies:     []Reply{jsonReply[runners.Asset](http.StatusOK, "The asset with its values.")}},
		{Method: http.MethodGet, Path: runners.PathJobAssets, Summary: "The asset values of a job this runner holds (runner)", Access: Runner, Handle: s.jobAssets,
			ID: "getJobAssets", Tag: tagProtocol,
			Description: "The values, for this runner's scope (its own, else its environment's, else the global one), of every asset the job's package version declares; " +
				"the agent asks before it starts the job and hands them to the process as EXEKRA_ASSET_<NAME> variables and the exekra-assets.json file. " +
				"A runner that does not hold the attempt named (claimed or running) gets 403 permission_denied; " +
				"a declared asset without a value for the runner is a 409 asset_missing naming the asset and the scope, and the agent ends the attempt as failed. " +
				"Every read is audited as " + runners.ActionAssetRead + " (a refused one as " + runners.ActionAssetReadDenied + "), never with a value.",
			Params: append(slices.Clone(paramsRunnerRequest), paramAssetAttempt),
			Replies: []Reply{jsonReply[runners.AgentAssets](http.StatusOK, "The values; items is [] when the package declares no asset.",
				headerNoStore, headerPragma)},
			Errors: []int{http.StatusConflict, http.StatusTooManyRequests}},
	}
}

func (s *Server) listAssets(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	typ, err := queryEnum(c, "type", runners.AssetTypes)
	if err != nil {
		return err
	}
	return forward(c, s, runners.SubjectAssetList, runners.ListAssetsRequest{Limit: limit, Cursor: c.Query("cursor"), Type: typ}, http.StatusOK)
}

func (s *Server) createAsset(c *gin.Context) error {
	return decodeAndForward[runners.CreateAssetRequest](c, s, runners.SubjectAssetCreate, http.StatusCreated)
}

func (s *Server) getAsset(c *gin.Context) error {
	return forward(c, s, runners.SubjectAssetGet, runners.AssetRequest{Name: c.Param("name")}, http.StatusOK)
}

func (s *Server) updateAsset(c *gin.Context) error {
	var p assetPatch
	if err := web.DecodeJSON(c, &p); err != nil {
		return err
	}
	return forward(c, s, runners.SubjectAssetUpdate, runners.UpdateAssetRequest{Name: c.Param("name"), Description: p.Description}, http.StatusOK)
}

func (s *Server) deleteAsset(c *gin.Context) error {
	if _, err := natsrpc.Call[runners.AssetDeleted](c.Request.Context(), s.NATS, runners.SubjectAssetDelete,
		runners.AssetRequest{Name: c.Param("name")}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// assetValueRequest names the value of scope the route's path names.
func assetValueRequest(c *gin.Context, scope string) (runners.AssetValueRequest, error) {
	req := runners.AssetValueRequest{Name: c.Param("name"), Scope: scope}
	switch scope {
	case runners.ScopeEnvironment:
		given := c.Param("environment")
		i := slices.IndexFunc(runners.Environments, func(e string) bool { return strings.EqualFold(e, given) })
		if i < 0 {
			return req, errs.Ef(errs.InvalidArgument, "environment must be one of %s (any case), not %q", strings.Join(runners.Environments, ", "), given)
		}
		req.Environment = runners.Environments[i]
	case runners.ScopeRunner:
		req.RunnerID = c.Param("runner_id")
	}
	return req, nil
}

// setAssetValue sets the value of scope. The body is never logged: it
// holds the value, which may be a secret.
func (s *Server) setAssetValue(scope string) web.Handler {
	return func(c *gin.Context) error {
		req, err := assetValueRequest(c, scope)
		if err != nil {
			return err
		}
		var body runners.AssetValueBody
		if err := web.DecodeJSON(c, &body); err != nil {
			return err
		}
		if len(body.Value) == 0 || string(body.Value) == "null" {
			return errs.E(errs.InvalidArgument, `the body must be {"value": <a value of the asset's type>}`)
		}
		if len(body.Value) > runners.MaxAssetValueBytes {
			return errs.Ef(errs.InvalidArgument, "value exceeds %d bytes", runners.MaxAssetValueBytes)
		}
		return forward(c, s, runners.SubjectAssetValueSet, runners.SetAssetValueRequest{AssetValueRequest: req, Value: body.Value}, http.StatusOK)
	}
}

func (s *Server) deleteAssetValue(scope string) web.Handler {
	return func(c *gin.Context) error {
		req, err := assetValueRequest(c, scope)
		if err != nil {
			return err
		}
		return forward(c, s, runners.SubjectAssetValueDelete, req, http.StatusOK)
	}
}

// jobAssets hands a runner the values of the job's declared assets. The
// answer holds secrets: no cache may keep it, and it is passed on as the
// runners service made it, never decoded or logged.
func (s *Server) jobAssets(c *gin.Context) error {
	web.NoStore(c)
	ar, err := agentRequest(c)
	if err != nil {
		return err
	}
	attempt, err := queryInt(c, runners.QueryAssetsAttempt, 0, 0, 1<<30)
	if err != nil {
		return err
	}
	req := runners.AgentAssetsRequest{AgentRequest: ar, JobID: c.Param("id"), Attempt: attempt}
	resp, err := natsrpc.Call[json.RawMessage](c.Request.Context(), s.NATS, runners.SubjectAgentAssets, req)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", resp)
	return nil
}
