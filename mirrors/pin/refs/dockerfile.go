package refs

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
)

var (
	// directive is a parser directive such as "# escape=`", which only
	// counts in the comment lines at the top of a Dockerfile.
	directive = regexp.MustCompile(`^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$`)
	// heredoc is the start of a BuildKit here-document in RUN, COPY or
	// ADD: <<EOF, <<-EOF, <<"EOF" or <<'EOF', but not the <<< here-string.
	heredoc = regexp.MustCompile(`(?:^|[^<])<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`)
)

// physicalLine is one line of a file, without its line break.
type physicalLine struct {
	start, end int
}

// splitLines splits data into lines, dropping "\n" and a "\r" before it.
func splitLines(data []byte) []physicalLine {
	var lines []physicalLine
	start := 0
	for start <= len(data) {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			if start < len(data) {
				lines = append(lines, physicalLine{start, len(data)})
			}
			break
		}
		end := start + i
		if end > start && data[end-1] == '\r' {
			end--
		}
		lines = append(lines, physicalLine{start, end})
		start += i + 1
	}
	return lines
}

// instruction is one Dockerfile instruction with its continuation lines
// joined: text is what BuildKit parses, and offsets maps each byte of
// text to its position in the file.
type instruction struct {
	text    []byte
	offsets []int
	// last is the index of the instruction's last physical line.
	last int
}

// token is a run of non-blank bytes of an instruction.
type token struct {
	pos  int
	text string
}

func (in *instruction) tokens() []token {
	var toks []token
	for i := 0; i < len(in.text); {
		if in.text[i] == ' ' || in.text[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(in.text) && in.text[j] != ' ' && in.text[j] != '\t' {
			j++
		}
		toks = append(toks, token{i, string(in.text[i:j])})
		i = j
	}
	return toks
}

// span returns the file offsets of text[pos:pos+n], or ok false when a
// line continuation splits them.
func (in *instruction) span(pos, n int) (start, end int, ok bool) {
	start, end = in.offsets[pos], in.offsets[pos+n-1]+1
	return start, end, end-start == n
}

// scanDockerfile finds the base images of FROM and the images of
// COPY --from. Names of earlier stages and scratch are not images.
func scanDockerfile(data []byte) []occurrence {
	lines := splitLines(data)
	escape := byte('\\')
	for _, l := range lines {
		m := directive.FindSubmatch(data[l.start:l.end])
		if m == nil {
			break
		}
		if strings.EqualFold(string(m[1]), "escape") && len(m[2]) == 1 {
			escape = m[2][0]
		}
	}
	starts := make([]int, len(lines))
	for i, l := range lines {
		starts[i] = l.start
	}
	stages := map[string]bool{}
	var occs []occurrence
	for i := 0; i < len(lines); i++ {
		trimmed := bytes.TrimSpace(data[lines[i].start:lines[i].end])
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		in := readInstruction(data, lines, i, escape)
		toks := in.tokens()
		if len(toks) == 0 {
			i = in.last
			continue
		}
		switch strings.ToUpper(toks[0].text) {
		case "FROM":
			occs = append(occs, fromImage(&in, toks[1:], starts, stages)...)
		case "COPY":
			occs = append(occs, copyImage(&in, toks[1:], starts, stages)...)
		}
		i = in.last
		if name := strings.ToUpper(toks[0].text); name == "RUN" || name == "COPY" || name == "ADD" {
			i = skipHeredocs(data, lines, &in)
		}
	}
	return occs
}

// readInstruction joins line first and its continuation lines. Comment
// lines inside a continuation are dropped, as BuildKit drops them.
func readInstruction(data []byte, lines []physicalLine, first int, escape byte) instruction {
	in := instruction{last: first}
	for i := first; i < len(lines); i++ {
		l := lines[i]
		text := data[l.start:l.end]
		in.last = i
		if i > first {
			trimmed := bytes.TrimSpace(text)
			if len(trimmed) > 0 && trimmed[0] == '#' {
				continue
			}
		}
		end := len(bytes.TrimRight(text, " \t"))
		continued := end > 0 && text[end-1] == escape
		if continued {
			end--
		}
		for j := 0; j < end; j++ {
			in.text = append(in.text, text[j])
			in.offsets = append(in.offsets, l.start+j)
		}
		if !continued {
			break
		}
	}
	return in
}

// skipHeredocs returns the index of the last line of the here-documents
// an instruction opens, or its own last line when it opens none. A
// here-document whose terminator never comes is taken for text in quotes,
// which BuildKit does not read as one, so no instruction after it is lost.
func skipHeredocs(data []byte, lines []physicalLine, in *instruction) int {
	last := in.last
	for _, m := range heredoc.FindAllSubmatch(in.text, -1) {
		if string(m[2]) != string(m[4]) {
			continue
		}
		word, stripTabs := string(m[3]), len(m[1]) > 0
		end := -1
		for i := last + 1; i < len(lines) && end < 0; i++ {
			body := data[lines[i].start:lines[i].end]
			if stripTabs {
				body = bytes.TrimLeft(body, "\t")
			}
			if string(body) == word {
				end = i
			}
		}
		if end < 0 {
			break
		}
		last = end
	}
	return last
}

// fromImage reads "FROM [--platform=P] IMAGE [AS NAME]".
func fromImage(in *instruction, args []token, starts []int, stages map[string]bool) []occurrence {
	for len(args) > 0 && strings.HasPrefix(args[0].text, "--") {
		args = args[1:]
	}
	if len(args) == 0 {
		return nil
	}
	image := args[0]
	var occs []occurrence
	if !stages[strings.ToLower(image.text)] && !strings.EqualFold(image.text, "scratch") {
		occs = append(occs, imageToken(in, image.pos, image.text, starts))
	}
	if len(args) >= 3 && strings.EqualFold(args[1].text, "as") {
		stages[strings.ToLower(args[2].text)] = true
	}
	return occs
}

// copyImage reads the image of "COPY --from=IMAGE", which is a stage name,
// a stage index or an image.
func copyImage(in *instruction, args []token, starts []int, stages map[string]bool) []occurrence {
	for _, a := range args {
		if !strings.HasPrefix(a.text, "--") {
			break
		}
		from, ok := strings.CutPrefix(a.text, "--from=")
		if !ok || from == "" || stages[strings.ToLower(from)] || strings.Trim(from, "0123456789") == "" {
			continue
		}
		return []occurrence{imageToken(in, a.pos+len("--from="), from, starts)}
	}
	return nil
}

// imageToken makes the occurrence for an image written at text[pos:].
func imageToken(in *instruction, pos int, ref string, starts []int) occurrence {
	first := in.offsets[pos]
	o := occurrence{line: sort.SearchInts(starts, first+1), ref: ref}
	start, end, ok := in.span(pos, len(ref))
	switch {
	case strings.Contains(ref, "$"):
		o.unresolved = "built from a build argument; pin the image where the argument is set"
	case !ok:
		o.invalid = "split across lines; write the reference on one line"
	default:
		o.edits = func(pinned Reference) []edit {
			return []edit{{start, end, pinned.String()}}
		}
	}
	return o
}
