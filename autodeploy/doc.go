// Package autodeploy deploys elements built from source when their branch
// moves: it reads git push webhooks (GitHub, GitLab, Gitea/Forgejo and a
// generic signed form) and checks their signatures (hooks.go), reads
// repositories with go-git so serve needs no git binary (git.go), keeps
// webhook secrets sealed (seal.go), and works the per-element deploy queue
// kept in the store (worker.go). It decides what to deploy and asks for
// it through a function; it does not import web.
//
// The flow: a webhook (or the poller, where webhooks cannot reach serve)
// names a repository, a branch and a commit. Every element whose source
// follows that branch with autodeploy on, and whose paths the push
// touches, gets a queued deploy at that commit. The queue holds one row
// per element, the newest commit asked for, so a burst of pushes deploys
// once; a deploy waits Settle for the burst to end; an element's deploys
// never overlap (a replica holds the element until it is done), and with
// several replicas on PostgreSQL each queued deploy goes to one. The
// deploy pins the element's artifact to the commit (never the moving
// branch) and records it; every later deploy of the project keeps the
// element on its recorded commit.
package autodeploy
