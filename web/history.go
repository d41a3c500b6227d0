package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/store"
)

// The audit log and the history of deleted projects. A deleted project is
// kept, with its revisions, deployments and audit entries, for
// Config.DeletedRetention (serve purges it after that); its slug is free at
// once, and a new project of the same slug starts from scratch.

// deletedView is a deleted project as the API returns it: with the time it
// will be purged, or null while deleted projects are kept forever.
type deletedView struct {
	store.DeletedProject
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) deletedView(p store.DeletedProject) deletedView {
	v := deletedView{DeletedProject: p}
	if s.retention > 0 {
		t := p.DeletedAt.Add(s.retention)
		v.ExpiresAt = &t
	}
	return v
}

// listAudit is GET /audit?project=slug&limit=N: one slug's events (its
// live project's and every deleted one's), or all events.
func (s *Server) listAudit(c *gin.Context) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	events, err := s.store.ListAudit(c.Request.Context(), c.Query("project"), limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"events": events})
	return nil
}

// listDeleted is GET /deleted-projects?slug=shop&limit=N.
func (s *Server) listDeleted(c *gin.Context) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	ps, err := s.store.ListDeletedProjects(c.Request.Context(), c.Query("slug"), limit)
	if err != nil {
		return err
	}
	out := make([]deletedView, 0, len(ps))
	for _, p := range ps {
		out = append(out, s.deletedView(p))
	}
	c.JSON(http.StatusOK, gin.H{"projects": out})
	return nil
}

// deletedID reads the :id of a deleted project.
func deletedID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errBadRequest(fmt.Sprintf("deleted project %q is not a positive number", c.Param("id")))
	}
	return id, nil
}

func (s *Server) getDeleted(c *gin.Context) error {
	id, err := deletedID(c)
	if err != nil {
		return err
	}
	p, err := s.store.GetDeletedProject(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.deletedView(*p))
	return nil
}

func (s *Server) listDeletedRevisions(c *gin.Context) error {
	id, err := deletedID(c)
	if err != nil {
		return err
	}
	limit, _ := strconv.Atoi(c.Query("limit"))
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	revs, err := s.store.ListDeletedRevisions(c.Request.Context(), id, limit, before)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"revisions": revisionItems(revs)})
	return nil
}

func (s *Server) getDeletedRevision(c *gin.Context) error {
	id, err := deletedID(c)
	if err != nil {
		return err
	}
	n, err := revisionNumber(c, "n")
	if err != nil {
		return err
	}
	r, err := s.store.GetDeletedRevision(c.Request.Context(), id, n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

func (s *Server) listDeletedDeployments(c *gin.Context) error {
	id, err := deletedID(c)
	if err != nil {
		return err
	}
	limit, _ := strconv.Atoi(c.Query("limit"))
	ds, err := s.store.ListDeletedDeployments(c.Request.Context(), id, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"deployments": ds})
	return nil
}
