package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/backplane-dev/backplane/store"
)

// access is who may call a route.
type access int

const (
	// public: anyone, signed in or not.
	public access = iota
	// signedIn: any authenticated user.
	signedIn
	// serverAdmin: a server admin.
	serverAdmin
	// project: a user with at least the route's role in the project named
	// by the :p parameter.
	project
)

// rule is a route's authorization: who, and for project routes the role.
type rule struct {
	access access
	role   store.Role
}

func (r rule) String() string {
	switch r.access {
	case public:
		return "public"
	case signedIn:
		return "signed in"
	case serverAdmin:
		return "server admin"
	}
	return "project " + string(r.role)
}

var (
	rulePublic      = rule{access: public}
	ruleSignedIn    = rule{access: signedIn}
	ruleServerAdmin = rule{access: serverAdmin}
	ruleViewer      = rule{access: project, role: store.RoleViewer}
	ruleEditor      = rule{access: project, role: store.RoleEditor}
	ruleDeployer    = rule{access: project, role: store.RoleDeployer}
	ruleAdmin       = rule{access: project, role: store.RoleAdmin}
)

// route is one API endpoint: its rule sits beside it, in one table, so a
// route cannot exist without one (TestRouteTable walks this table).
type route struct {
	method, path string
	rule         rule
	// timeout is the handler's deadline; 0 for streams, which live as
	// long as the client stays.
	timeout time.Duration
	h       handler
}

// table is every API route under /api/v1.
func (s *Server) table() []route {
	short, long := RequestTimeout, ClusterTimeout
	return []route{
		{"GET", "/healthz", rulePublic, short, s.healthz},
		// The metrics hold request counts by route and nothing of any
		// project; Prometheus scrapes them without credentials.
		{"GET", "/metrics", rulePublic, short, s.metricsHandler},

		{"POST", "/auth/login", rulePublic, short, s.login},
		{"POST", "/auth/link", rulePublic, short, s.useLink},
		{"POST", "/auth/logout", ruleSignedIn, short, s.logout},
		{"GET", "/auth/me", ruleSignedIn, short, s.me},
		{"PUT", "/auth/password", ruleSignedIn, short, s.setPassword},

		{"GET", "/kinds", ruleSignedIn, short, s.kinds},
		{"GET", "/tokens", ruleSignedIn, short, s.listTokens},
		{"POST", "/tokens", ruleSignedIn, short, s.createToken},
		{"DELETE", "/tokens/:id", ruleSignedIn, short, s.revokeToken},

		{"GET", "/users", ruleServerAdmin, short, s.listUsers},
		{"POST", "/users", ruleServerAdmin, short, s.createUser},
		{"PATCH", "/users/:id", ruleServerAdmin, short, s.updateUser},

		{"GET", "/projects", ruleSignedIn, short, s.listProjects},
		{"POST", "/projects", ruleServerAdmin, short, s.createProject},
		{"POST", "/import/compose", ruleServerAdmin, short, s.importCompose},
		{"GET", "/projects/:p", ruleViewer, short, s.getProject},
		{"PATCH", "/projects/:p", ruleAdmin, short, s.renameProject},
		{"DELETE", "/projects/:p", ruleAdmin, short, s.deleteProject},
		{"GET", "/projects/:p/schema", ruleViewer, short, s.getSchema},
		{"PUT", "/projects/:p/schema", ruleEditor, short, s.putSchema},
		{"GET", "/projects/:p/revisions", ruleViewer, short, s.listRevisions},
		{"GET", "/projects/:p/revisions/:n", ruleViewer, short, s.getRevision},
		{"GET", "/projects/:p/revisions/:n/diff", ruleViewer, short, s.diffRevision},
		{"POST", "/projects/:p/validate", ruleViewer, short, s.validate},
		{"POST", "/projects/:p/render", ruleViewer, short, s.render},
		{"GET", "/projects/:p/status", ruleViewer, short, s.status},
		{"GET", "/projects/:p/deployments", ruleViewer, short, s.listDeployments},
		{"GET", "/projects/:p/members", ruleViewer, short, s.listMembers},
		{"PUT", "/projects/:p/members/:name", ruleAdmin, short, s.setMember},
		{"DELETE", "/projects/:p/members/:name", ruleAdmin, short, s.removeMember},
		{"GET", "/projects/:p/audit", ruleAdmin, short, s.projectAudit},
		{"GET", "/projects/:p/secrets/:element", ruleDeployer, short, s.listSecrets},
		{"PUT", "/projects/:p/secrets/:element/:name", ruleDeployer, short, s.setSecret},
		{"POST", "/projects/:p/plan", ruleDeployer, long, s.plan},
		// No deadline from the route: a deploy bounds its own time (it may
		// build first) and runs to its end if the client leaves.
		{"POST", "/projects/:p/deploy", ruleDeployer, 0, s.deploy},
		{"POST", "/projects/:p/rollback", ruleDeployer, long, s.rollback},
		{"POST", "/projects/:p/destroy", ruleAdmin, long, s.destroy},
		{"GET", "/projects/:p/events", ruleViewer, 0, s.events},
		{"GET", "/projects/:p/logs", ruleViewer, short, s.searchLogs},
		{"GET", "/projects/:p/logs/tail", ruleViewer, 0, s.tailLogs},
		{"GET", "/projects/:p/hooks", ruleAdmin, short, s.getHooks},
		{"POST", "/projects/:p/hooks/rotate", ruleAdmin, short, s.rotateHooks},
		{"GET", "/projects/:p/commits", ruleViewer, short, s.listCommits},
		{"GET", "/projects/:p/builds", ruleViewer, short, s.listBuilds},
		{"GET", "/projects/:p/builds/:id", ruleViewer, short, s.getBuild},
		{"GET", "/projects/:p/builds/:id/log", ruleViewer, 0, s.buildLog},
		{"GET", "/projects/:p/metrics", ruleViewer, short, s.metricsRange},
		{"GET", "/projects/:p/metrics/now", ruleViewer, short, s.metricsNow},
		{"GET", "/projects/:p/alerts", ruleViewer, short, s.listAlerts},
		{"GET", "/projects/:p/silences", ruleViewer, short, s.listSilences},
		{"POST", "/projects/:p/silences", ruleDeployer, short, s.createSilence},
		{"DELETE", "/projects/:p/silences/:id", ruleDeployer, short, s.expireSilence},

		{"GET", "/audit", ruleServerAdmin, short, s.listAudit},
		{"GET", "/deleted-projects", ruleServerAdmin, short, s.listDeleted},
		{"GET", "/deleted-projects/:id", ruleServerAdmin, short, s.getDeleted},
		{"GET", "/deleted-projects/:id/revisions", ruleServerAdmin, short, s.listDeletedRevisions},
		{"GET", "/deleted-projects/:id/revisions/:n", ruleServerAdmin, short, s.getDeletedRevision},
		{"GET", "/deleted-projects/:id/deployments", ruleServerAdmin, short, s.listDeletedDeployments},
	}
}

func (s *Server) metricsHandler(c *gin.Context) error {
	promhttp.HandlerFor(s.promReg, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
	return nil
}

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// The client's address is the connection's: no proxy header is
	// trusted unless the operator configures proxies.
	_ = r.SetTrustedProxies(s.trustedProxies)
	r.Use(s.recover(), securityHeaders(), s.observe(), s.limitBody(), s.authenticate())
	api := r.Group("/api/v1")
	for _, rt := range s.table() {
		chain := []gin.HandlerFunc{s.authorize(rt.rule)}
		if rt.timeout > 0 {
			chain = append(chain, s.timeout(rt.timeout))
		}
		chain = append(chain, s.wrap(rt.h))
		api.Handle(rt.method, rt.path, chain...)
	}
	// The binary for the logship sidecar: public, like the editor's files
	// (Nomad's artifact fetcher has no credentials; it holds no secret).
	r.GET("/dist/:file", s.serveDist)
	// Git webhooks: public, authenticated by the payload's signature
	// against the project's secret (see hooks.go).
	r.POST("/hooks/git/:project", s.timeout(RequestTimeout), s.wrap(s.gitHook))
	// Build artifacts: Nomad clients download with the link's signature,
	// build jobs upload with a one-time token (see builds.go).
	r.GET("/artifacts/:project/:element/:file", s.artifactFile)
	r.PUT("/artifacts/:project/:element/:file", s.uploadArtifact)
	ui := s.ui()
	r.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			s.respondError(c, errNotFound("no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path))
			return
		}
		ui(c)
	})
	r.HandleMethodNotAllowed = false
	return r
}

// authorize enforces a route's rule. A caller without any role in the
// project gets 404, as if it did not exist; one whose role is too low gets
// 403 naming the role needed.
func (s *Server) authorize(ru rule) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ru.access == public {
			c.Next()
			return
		}
		k, err := requireCaller(c)
		if err != nil {
			s.respondError(c, err)
			return
		}
		switch ru.access {
		case serverAdmin:
			if !k.user.ServerAdmin || (k.token != nil && (k.token.Project != "" || !k.token.Role.AtLeast(store.RoleAdmin))) {
				s.respondError(c, errForbidden("this needs a server admin"))
				return
			}
		case project:
			slug := c.Param("p")
			role, ok, err := s.projectRole(c, k, slug)
			if err != nil {
				s.respondError(c, err)
				return
			}
			if !ok {
				s.respondError(c, errNotFound(fmt.Sprintf("no project %q", slug)))
				return
			}
			if !role.AtLeast(ru.role) {
				s.respondError(c, errForbidden(fmt.Sprintf("your role in %s is %s; this needs %s", slug, role, ru.role)))
				return
			}
		}
		c.Next()
	}
}
