package templates

import (
	"fmt"
	"strconv"
	"strings"
)

// ServiceQuery is the template function call that lists the target's
// instances: Nomad's nomadService, or Consul's service (with @datacenter
// across regions). It is empty for upstreams, which are on localhost.
func (c Connection) ServiceQuery() string {
	switch c.Lookup {
	case LookupConsul:
		if c.Datacenter != "" {
			return fmt.Sprintf("service %q", c.Service+"@"+c.Datacenter)
		}
		return fmt.Sprintf("service %q", c.Service)
	case LookupUpstream:
		return ""
	default:
		return fmt.Sprintf("nomadService %q", c.Service)
	}
}

// AddressTemplate is template text for the address of the instance in
// scope: an IPv6 address goes in brackets (RFC 3986), so that appending
// ":port" gives a valid URL authority or nginx server address. `contains`
// is consul-template's: `l | contains v` is true when string l contains v.
const AddressTemplate = `{{ if .Address | contains ":" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}`

// EnvName is the env var name an export injects for a target element.
func EnvName(pattern, targetID string) string {
	id := strings.ToUpper(strings.ReplaceAll(targetID, "-", "_"))
	return strings.ReplaceAll(pattern, "{ID}", id)
}

// URLTemplate renders an export's URL pattern as template text: the host and
// port come from service discovery (or the local upstream), the password
// from Vault. Fixed parts are escaped with TemplateLiteral.
func URLTemplate(pattern string, host, port, password string) string {
	var b strings.Builder
	for pattern != "" {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			b.WriteString(TemplateLiteral(pattern))
			break
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			b.WriteString(TemplateLiteral(pattern))
			break
		}
		b.WriteString(TemplateLiteral(pattern[:i]))
		switch pattern[i+1 : i+j] {
		case "host":
			b.WriteString(host)
		case "port":
			b.WriteString(port)
		case "password":
			b.WriteString(password)
		default:
			b.WriteString(TemplateLiteral(pattern[i : i+j+1]))
		}
		pattern = pattern[i+j+1:]
	}
	return b.String()
}

// EnvTemplate is the template text that writes the connection's env var:
// the first instance of the target, or the local upstream under the mesh.
// When the target's credentials live in Vault, the password is read there.
func (c Connection) EnvTemplate(exp Export, creds *Credentials, openURL bool) string {
	pattern := exp.URL
	if openURL && exp.OpenURL != "" {
		pattern = exp.OpenURL
	}
	password := ""
	if creds != nil {
		password = fmt.Sprintf(`{{ with secret %q }}{{ .Data.data.password }}{{ end }}`, KVDataPath(creds.Path))
	}
	if c.Lookup == LookupUpstream {
		url := URLTemplate(pattern, "127.0.0.1", strconv.Itoa(c.BindPort), password)
		return c.Env + "=" + url + "\n"
	}
	url := URLTemplate(pattern, AddressTemplate, "{{ .Port }}", password)
	return fmt.Sprintf("{{ range $i, $s := %s }}{{ if eq $i 0 }}{{ with $s }}%s=%s\n{{ end }}{{ end }}{{ end }}", c.ServiceQuery(), c.Env, url)
}
