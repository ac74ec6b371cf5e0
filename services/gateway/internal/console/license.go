package console

import (
	"net/http"
	"strings"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/gin-gonic/gin"
)

type licenseData struct {
	Status  licensing.Status
	Renew   string // license text sent for renewal, kept when it was refused
	Receipt string // receipt text sent, kept when it was refused
}

func (con *Console) licensePage(c *gin.Context) {
	con.showLicense(c, http.StatusOK, "", licenseData{})
}

// showLicense renders the license status, with msg as the error of the form just sent.
func (con *Console) showLicense(c *gin.Context, status int, msg string, d licenseData) {
	st, err := call[licensing.Status](c, con, licensing.SubjectStatus, licensing.StatusRequest{})
	if err != nil {
		con.fail(c, err)
		return
	}
	d.Status = st
	con.show(c, status, "license", page{Title: "License", Error: msg, Data: d})
}

// licenseAction sends req to subject; on success it confirms with flash,
// otherwise the license page shows the error next to the kept form text.
func (con *Console) licenseAction(c *gin.Context, subject string, req any, kept licenseData, flash string) {
	if _, err := call[licensing.Status](c, con, subject, req); err != nil {
		con.showLicense(c, statusOf(err), con.inline(c, err), kept)
		return
	}
	redirect(c, "/license?flash="+flash)
}

func (con *Console) renewLicense(c *gin.Context) {
	text := c.PostForm("license")
	if strings.TrimSpace(text) == "" {
		con.showLicense(c, http.StatusBadRequest, con.inline(c, errNoText), licenseData{})
		return
	}
	con.licenseAction(c, licensing.SubjectActivate, licensing.ActivateRequest{License: text}, licenseData{Renew: text}, "license_renewed")
}

func (con *Console) validateLicense(c *gin.Context) {
	con.licenseAction(c, licensing.SubjectValidate, licensing.ValidateRequest{}, licenseData{}, "license_validated")
}

func (con *Console) importReceipt(c *gin.Context) {
	text := c.PostForm("receipt")
	if strings.TrimSpace(text) == "" {
		con.showLicense(c, http.StatusBadRequest, con.inline(c, errNoText), licenseData{})
		return
	}
	con.licenseAction(c, licensing.SubjectReceipt, licensing.ReceiptRequest{Receipt: text}, licenseData{Receipt: text}, "receipt_imported")
}
