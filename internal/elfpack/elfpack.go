// Package elfpack finds the files a dynamically linked ELF program needs to run in an otherwise empty (FROM
// scratch) container image: the program, its ELF interpreter (PT_INTERP, such as /lib64/ld-linux-x86-64.so.2)
// and every shared library it needs, transitively (DT_NEEDED).
//
// It reads the ELF files with debug/elf and searches for each library as the glibc dynamic loader does, without
// running ldd or the loader:
//
//  1. a name with a slash is a path;
//  2. a library already loaded under that name (its DT_SONAME, or the name it was found by) is reused;
//  3. the DT_RPATH of the object that needs it, then that of the program, when the object has no DT_RUNPATH;
//  4. the DT_RUNPATH of the object that needs it;
//  5. the directories of /etc/ld.so.conf (and the files it includes), which ldconfig caches;
//  6. the default directories: /lib/<multiarch>, /usr/lib/<multiarch> (such as x86_64-linux-gnu), /lib64,
//     /usr/lib64, /lib, /usr/lib.
//
// $ORIGIN and ${ORIGIN} in a search path are the directory of the object that holds it. A candidate of another
// ELF class or machine than the program (a 32-bit library in /usr/lib32, say) is passed over, as the loader
// does. LD_LIBRARY_PATH and LD_PRELOAD of the calling process are ignored: the image must not depend on them.
//
// Libraries that a program loads itself at run time (dlopen) are not DT_NEEDED and are not found.
package elfpack

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Lib is one shared library a program needs.
type Lib struct {
	// Name is the DT_NEEDED entry, such as libc.so.6.
	Name string
	// Path is where it was found, as the loader would open it (symbolic links not resolved), such as
	// /lib/x86_64-linux-gnu/libc.so.6. The image must hold the library at this path.
	Path string
	// NeededBy is the path of the first object found to need it (the program, or another library).
	NeededBy string
}

// Deps is what a program needs to run.
type Deps struct {
	// Program is the program's path, as given.
	Program string
	// Interp is its ELF interpreter (PT_INTERP), such as /lib64/ld-linux-x86-64.so.2; "" for a statically
	// linked program, which needs nothing else.
	Interp string
	// Libs are the shared libraries it needs, transitively, in the order they were found (breadth first, as the
	// loader loads them).
	Libs []Lib
}

// Static reports whether the program is statically linked: no interpreter and no libraries.
func (d *Deps) Static() bool { return d.Interp == "" && len(d.Libs) == 0 }

// Files returns the absolute paths the image must hold besides the program: the interpreter, then the libraries,
// without duplicates.
func (d *Deps) Files() []string {
	var out []string
	if d.Interp != "" {
		out = append(out, d.Interp)
	}
	for _, l := range d.Libs {
		if !slices.Contains(out, l.Path) {
			out = append(out, l.Path)
		}
	}
	return out
}

// LibDirs returns the directories of the libraries, each once, in the order of Libs: an LD_LIBRARY_PATH that
// finds every library in an image that has no ld.so.cache.
func (d *Deps) LibDirs() []string {
	var out []string
	for _, l := range d.Libs {
		if dir := filepath.Dir(l.Path); !slices.Contains(out, dir) {
			out = append(out, dir)
		}
	}
	return out
}

// Resolver finds a program's dependencies. Its zero value is not usable; use Resolve, or set both fields.
type Resolver struct {
	// LdSoConf is the loader configuration file to read for library directories ("" : none).
	LdSoConf string
	// DefaultDirs are searched last; nil means the defaults for the program's machine (see the package doc).
	DefaultDirs []string
}

// Resolve finds the dependencies of the program at path, with /etc/ld.so.conf and the default directories.
func Resolve(path string) (*Deps, error) {
	return (&Resolver{LdSoConf: "/etc/ld.so.conf"}).Resolve(path)
}

// object is one ELF file read for its dynamic section.
type object struct {
	path    string
	class   elf.Class
	machine elf.Machine
	interp  string
	needed  []string
	soname  string
	rpath   []string
	runpath []string
}

// readObject reads what resolution needs from the ELF file at path.
func readObject(path string) (*object, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o := &object{path: path, class: f.Class, machine: f.Machine}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("reading its PT_INTERP: %w", err)
		}
		o.interp = strings.TrimRight(string(b), "\x00")
		if o.interp == "" {
			return nil, errors.New("its PT_INTERP is empty")
		}
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("it is an ELF %s, not an executable or shared object", f.Type)
	}
	// An object without a dynamic section needs nothing; debug/elf answers such with an error or nothing.
	if f.Section(".dynamic") == nil && !hasDynamicProg(f) {
		return o, nil
	}
	if o.needed, err = f.DynString(elf.DT_NEEDED); err != nil {
		return nil, fmt.Errorf("reading its DT_NEEDED: %w", err)
	}
	if s, err := f.DynString(elf.DT_SONAME); err == nil && len(s) > 0 {
		o.soname = s[0]
	}
	for _, tag := range []elf.DynTag{elf.DT_RPATH, elf.DT_RUNPATH} {
		vals, err := f.DynString(tag)
		if err != nil {
			return nil, fmt.Errorf("reading its %s: %w", tag, err)
		}
		var dirs []string
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				if d != "" {
					dirs = append(dirs, expandOrigin(d, filepath.Dir(path)))
				}
			}
		}
		if tag == elf.DT_RPATH {
			o.rpath = dirs
		} else {
			o.runpath = dirs
		}
	}
	return o, nil
}

func hasDynamicProg(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_DYNAMIC {
			return true
		}
	}
	return false
}

// expandOrigin replaces $ORIGIN and ${ORIGIN} with the directory of the object that holds the path.
func expandOrigin(dir, origin string) string {
	dir = strings.ReplaceAll(dir, "${ORIGIN}", origin)
	return strings.ReplaceAll(dir, "$ORIGIN", origin)
}

// multiarch returns Debian's multiarch tuple for a machine, or "".
func multiarch(class elf.Class, m elf.Machine) string {
	switch {
	case m == elf.EM_X86_64 && class == elf.ELFCLASS64:
		return "x86_64-linux-gnu"
	case m == elf.EM_AARCH64:
		return "aarch64-linux-gnu"
	case m == elf.EM_386:
		return "i386-linux-gnu"
	case m == elf.EM_ARM:
		return "arm-linux-gnueabihf"
	case m == elf.EM_RISCV && class == elf.ELFCLASS64:
		return "riscv64-linux-gnu"
	case m == elf.EM_PPC64:
		return "powerpc64le-linux-gnu"
	case m == elf.EM_S390:
		return "s390x-linux-gnu"
	}
	return ""
}

// defaultDirs returns the loader's default directories for a machine.
func defaultDirs(class elf.Class, m elf.Machine) []string {
	var dirs []string
	if t := multiarch(class, m); t != "" {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	if class == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	return append(dirs, "/lib", "/usr/lib")
}

// Resolve finds the dependencies of the program at path. An error names the library that cannot be found, the
// object that needs it, and where it was looked for.
func (r *Resolver) Resolve(path string) (*Deps, error) {
	prog, err := readObject(path)
	if err != nil {
		return nil, fmt.Errorf("program %s: %w", path, err)
	}
	d := &Deps{Program: path, Interp: prog.interp}
	if prog.interp == "" && len(prog.needed) == 0 {
		return d, nil
	}
	if prog.interp == "" {
		return nil, fmt.Errorf("program %s needs shared libraries (%s) but has no ELF interpreter (PT_INTERP)", path, strings.Join(prog.needed, ", "))
	}
	confDirs, err := ldSoConfDirs(r.LdSoConf)
	if err != nil {
		return nil, err
	}
	defaults := r.DefaultDirs
	if defaults == nil {
		defaults = defaultDirs(prog.class, prog.machine)
	}
	// loaded maps every name a loaded object answers to (DT_SONAME, and the name it was needed by) to its path.
	loaded := map[string]string{}
	interp, err := readObject(prog.interp)
	if err != nil {
		return nil, fmt.Errorf("the ELF interpreter %s of %s: %w", prog.interp, path, err)
	}
	if err := compatible(prog, interp); err != nil {
		return nil, fmt.Errorf("the ELF interpreter %s of %s: %w", prog.interp, path, err)
	}
	if interp.soname != "" {
		loaded[interp.soname] = prog.interp
	}
	loaded[filepath.Base(prog.interp)] = prog.interp

	queue := []*object{prog}
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		for _, name := range o.needed {
			if _, ok := loaded[name]; ok {
				continue
			}
			found, lib, tried, err := r.find(name, o, prog, confDirs, defaults)
			if err != nil {
				return nil, err
			}
			if found == "" {
				return nil, fmt.Errorf("shared library %s, needed by %s, not found (looked in %s)", name, o.path, strings.Join(tried, ", "))
			}
			loaded[name] = found
			if lib.soname != "" {
				if _, ok := loaded[lib.soname]; !ok {
					loaded[lib.soname] = found
				}
			}
			if found == prog.interp || slices.ContainsFunc(d.Libs, func(l Lib) bool { return l.Path == found }) {
				continue
			}
			d.Libs = append(d.Libs, Lib{Name: name, Path: found, NeededBy: o.path})
			queue = append(queue, lib)
		}
	}
	return d, nil
}

// compatible returns an error unless lib can be loaded into prog (same ELF class and machine).
func compatible(prog, lib *object) error {
	if lib.class != prog.class || lib.machine != prog.machine {
		return fmt.Errorf("it is %s %s, the program %s %s", lib.class, lib.machine, prog.class, prog.machine)
	}
	return nil
}

// find looks for library name needed by object o of program prog, and returns where it is and its contents
// ("" when not found, with the places tried).
func (r *Resolver) find(name string, o, prog *object, confDirs, defaults []string) (string, *object, []string, error) {
	if strings.Contains(name, "/") {
		p := expandOrigin(name, filepath.Dir(o.path))
		lib, err := readObject(p)
		if err != nil {
			return "", nil, nil, fmt.Errorf("shared library %s, needed by %s: %w", p, o.path, err)
		}
		if err := compatible(prog, lib); err != nil {
			return "", nil, nil, fmt.Errorf("shared library %s, needed by %s: %w", p, o.path, err)
		}
		return p, lib, nil, nil
	}
	var dirs []string
	if len(o.runpath) == 0 {
		dirs = append(dirs, o.rpath...)
		if o != prog && len(prog.runpath) == 0 {
			dirs = append(dirs, prog.rpath...)
		}
	}
	dirs = append(dirs, o.runpath...)
	dirs = append(dirs, confDirs...)
	dirs = append(dirs, defaults...)
	var tried []string
	for _, dir := range dirs {
		if slices.Contains(tried, dir) {
			continue
		}
		tried = append(tried, dir)
		p := filepath.Join(dir, name)
		if !filepath.IsAbs(p) {
			continue // a relative search path depends on the working directory; the image has none of it
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		lib, err := readObject(p)
		if err != nil {
			continue // not an ELF shared object: the loader passes over it too
		}
		if compatible(prog, lib) != nil {
			continue
		}
		return p, lib, tried, nil
	}
	return "", nil, tried, nil
}

// ldSoConfDirs returns the library directories of the loader configuration file at path ("" or a missing file:
// none), following its include lines. An error names the file and line.
func ldSoConfDirs(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	var dirs []string
	seen := map[string]bool{}
	var read func(p string, depth int) error
	read = func(p string, depth int) error {
		if depth > 10 {
			return fmt.Errorf("%s: includes nested more than 10 deep", p)
		}
		if seen[p] {
			return nil
		}
		seen[p] = true
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) && depth == 0 {
			return nil
		} else if err != nil {
			return fmt.Errorf("loader configuration: %w", err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if j := strings.IndexByte(line, '#'); j >= 0 {
				line = line[:j]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			switch fields[0] {
			case "include":
				if len(fields) < 2 {
					return fmt.Errorf("%s:%d: include without a pattern", p, i+1)
				}
				for _, pat := range fields[1:] {
					if !filepath.IsAbs(pat) {
						pat = filepath.Join(filepath.Dir(p), pat)
					}
					matches, err := filepath.Glob(pat)
					if err != nil {
						return fmt.Errorf("%s:%d: include %q: %w", p, i+1, pat, err)
					}
					slices.Sort(matches)
					for _, m := range matches {
						if err := read(m, depth+1); err != nil {
							return err
						}
					}
				}
			case "hwcap":
				// An old-glibc directive that names no directory.
			default:
				// A directory, possibly followed by "=TYPE" (old libc5 syntax) or separated by commas.
				for _, f := range fields {
					for _, d := range strings.Split(f, ",") {
						d, _, _ = strings.Cut(d, "=")
						if d == "" {
							continue
						}
						if !filepath.IsAbs(d) {
							return fmt.Errorf("%s:%d: library directory %q is not an absolute path", p, i+1, d)
						}
						if !slices.Contains(dirs, d) {
							dirs = append(dirs, filepath.Clean(d))
						}
					}
				}
			}
		}
		return nil
	}
	if err := read(path, 0); err != nil {
		return nil, err
	}
	return dirs, nil
}
