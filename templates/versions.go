package templates

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/backplane-dev/backplane/schema"
)

// MetaVersion is the task meta key that records the version an element of a
// versioned kind runs, after ResolveVersion: what `version: "7"` became.
const MetaVersion = "backplane.version"

// imageTag is the grammar of a container image tag (the reference grammar of
// the distribution spec): a word character, then up to 127 word characters,
// dots and dashes.
var imageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidImageTag reports whether v can stand as an image tag.
func ValidImageTag(v string) bool { return imageTag.MatchString(v) }

// ResolveVersion picks the version an element runs from the versions its
// kind lists, default first:
//   - no version asked for: the kind's default;
//   - a listed version: that version;
//   - a prefix of listed versions, such as "7" when the kind lists 7.4 and
//     7.2: the newest of them (7.4), so a major version means the newest
//     minor of it Backplane supports;
//   - anything else: the version as written, with listed false. It is still
//     a real image tag that users write (redis 6, postgres 18), so the build
//     runs it and warns that Backplane does not list it.
func ResolveVersion(versions []string, asked string) (version string, listed bool) {
	if asked == "" {
		if len(versions) == 0 {
			return "", false
		}
		return versions[0], true
	}
	best := ""
	for _, v := range versions {
		if v == asked {
			return v, true
		}
		if strings.HasPrefix(v, asked+".") && (best == "" || compareVersions(v, best) > 0) {
			best = v
		}
	}
	if best != "" {
		return best, true
	}
	return asked, false
}

// compareVersions orders dotted versions part by part, numerically where both
// parts are numbers ("3.13" is newer than "3.9"), as text otherwise. A
// version that extends another is the newer ("7.4.1" after "7.4").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		switch {
		case aerr == nil && berr == nil && an != bn:
			if an < bn {
				return -1
			}
			return 1
		case (aerr != nil || berr != nil) && as[i] != bs[i]:
			return strings.Compare(as[i], bs[i])
		}
	}
	return len(as) - len(bs)
}

// checkVersion refuses a version that cannot be an image tag. Whether the
// kind lists it is not checked here: an unlisted version is accepted, and
// the build warns about it (see versionWarning).
func checkVersion(info Info, e *schema.Element, p schema.Path) schema.Errors {
	if e.Version == "" || ValidImageTag(e.Version) {
		return nil
	}
	return schema.Errors{schema.Errorf(p.Field("version"),
		"%s version %q is not a valid image tag: use letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-' (for example %s)",
		info.Label, e.Version, exampleVersion(info))}
}

func exampleVersion(info Info) string {
	if len(info.Versions) > 0 {
		return strconv.Quote(info.Versions[0])
	}
	return `"1.2"`
}

// versionWarning is the build's warning for a version the kind does not
// list, naming the image that will be pulled.
func versionWarning(info Info, p schema.Path, version, image string) *schema.FieldError {
	return schema.Errorf(p.Field("version"), "%s version %q is not one Backplane lists (%s); it runs the image %s as written",
		info.Label, version, strings.Join(info.Versions, ", "), image)
}

// versionedImage fills {version} in an image pattern with the version the
// element resolves to, and records that version in the task's meta.
func versionedImage(info Info, in BuildInput, pattern string, res *BuildResult) string {
	v, listed := ResolveVersion(info.Versions, in.Element.Version)
	image := strings.ReplaceAll(pattern, "{version}", v)
	if !strings.Contains(pattern, "{version}") || v == "" {
		return image
	}
	if res.Task.Meta == nil {
		res.Task.Meta = map[string]string{}
	}
	res.Task.Meta[MetaVersion] = v
	if !listed {
		res.Warnings = append(res.Warnings, versionWarning(info, in.Path, v, image))
	}
	return image
}
