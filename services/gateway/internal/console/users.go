package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

// usersPageSize is how many users one page of the table shows.
const usersPageSize = 50

var roles = []string{identity.RoleOperator, identity.RoleDeveloper, identity.RoleAdmin}

type usersData struct {
	Users      []identity.User
	Cursor     string // the page shown ("" for the first)
	NextCursor string
	Roles      []string
	Create     createForm
	Self       string // the signed-in administrator's id
}

// createForm holds what was typed into the create form (never the password).
type createForm struct {
	Email, Name, Role string
	ServiceAccount    bool // no password; API tokens only
}

var freshCreateForm = createForm{Role: identity.RoleOperator}

func (con *Console) usersPage(c *gin.Context) {
	con.showUsers(c, http.StatusOK, "", freshCreateForm)
}

// showUsers renders a page of users, with msg as the error of the form just sent.
func (con *Console) showUsers(c *gin.Context, status int, msg string, form createForm) {
	cursor := c.Query("cursor")
	list, err := call[identity.ListUsersResponse](c, con, identity.SubjectUsersList,
		identity.ListUsersRequest{Limit: usersPageSize, Cursor: cursor})
	if err != nil {
		con.fail(c, err)
		return
	}
	d := usersData{Users: list.Items, Cursor: cursor, NextCursor: list.NextCursor, Roles: roles, Create: form}
	if p := con.principal(c); p != nil {
		d.Self = p.User.ID
	}
	con.show(c, status, "users", page{Title: "Users", Error: msg, Data: d})
}

func (con *Console) createUser(c *gin.Context) {
	form := createForm{Email: strings.TrimSpace(c.PostForm("email")), Name: strings.TrimSpace(c.PostForm("name")), Role: c.PostForm("role"),
		ServiceAccount: c.PostForm("service_account") == "true"}
	req := identity.CreateUserRequest{Email: form.Email, Name: form.Name, Password: c.PostForm("password"), Role: form.Role,
		ServiceAccount: form.ServiceAccount}
	if form.ServiceAccount {
		req.Password = "" // a service account has none; a typed one is ignored
	}
	if _, err := call[identity.User](c, con, identity.SubjectUsersCreate, req); err != nil {
		con.showUsers(c, statusOf(err), con.inline(c, err), form)
		return
	}
	redirect(c, "/users?flash=user_created")
}

// updateUser sends req for the user in the path and confirms with flash.
func (con *Console) updateUser(c *gin.Context, req identity.UpdateUserRequest, flash string) {
	req.ID = c.Param("id")
	if _, err := call[identity.User](c, con, identity.SubjectUsersUpdate, req); err != nil {
		con.showUsers(c, statusOf(err), con.inline(c, err), freshCreateForm)
		return
	}
	redirect(c, "/users?flash="+flash)
}

func (con *Console) setRole(c *gin.Context) {
	role := c.PostForm("role")
	con.updateUser(c, identity.UpdateUserRequest{Role: &role}, "user_role")
}

func (con *Console) setDisabled(c *gin.Context) {
	disabled, err := strconv.ParseBool(c.PostForm("disabled"))
	if err != nil {
		con.showUsers(c, http.StatusBadRequest, "Choose whether to disable or enable the user.", freshCreateForm)
		return
	}
	flash := "user_enabled"
	if disabled {
		flash = "user_disabled"
	}
	con.updateUser(c, identity.UpdateUserRequest{Disabled: &disabled}, flash)
}

func (con *Console) resetPassword(c *gin.Context) {
	password := c.PostForm("password")
	if password == "" {
		con.showUsers(c, http.StatusBadRequest, "Type the new password.", freshCreateForm)
		return
	}
	con.updateUser(c, identity.UpdateUserRequest{Password: &password}, "user_password")
}

// confirmDelete asks before a user is deleted (no script needed).
func (con *Console) confirmDelete(c *gin.Context) {
	u, err := call[identity.User](c, con, identity.SubjectUsersGet, identity.GetUserRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return
	}
	con.show(c, http.StatusOK, "user_delete", page{Title: "Delete user", Data: u})
}

func (con *Console) deleteUser(c *gin.Context) {
	_, err := call[identity.DeleteUserResponse](c, con, identity.SubjectUsersDelete, identity.DeleteUserRequest{ID: c.Param("id")})
	if err != nil && !errs.Is(err, errs.NotFound) {
		con.showUsers(c, statusOf(err), con.inline(c, err), freshCreateForm)
		return
	}
	redirect(c, "/users?flash=user_deleted")
}
