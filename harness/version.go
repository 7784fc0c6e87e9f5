package harness

// The versions of skeptic and Go that ran a test, recorded in config.json.

import "runtime/debug"

// versions records what ran the test.
func versions() map[string]string {
	v := map[string]string{"skeptic": Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v["go"] = bi.GoVersion
	}
	return v
}

// Version returns skeptic's version: the module version, or the VCS revision it was built from.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return rev + dirty
	}
	if v == "" {
		v = "devel"
	}
	return v
}
