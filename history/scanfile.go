package history

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// ScanFileFormat is ReadFileFormat that hands each event to fn, in file order, instead of returning them all,
// and returns the format the file was read as. A skeptic history.jsonl is decoded as it is read, so no more than
// a line of it is held at once; Jepsen's formats are read whole first. It stops at fn's first error and returns
// it unchanged. Errors and torn tails are as ReadFileFormat's: a torn final line comes after every event before
// it, as an error wrapping ErrTornTail.
func ScanFileFormat(path string, format Format, opts JepsenOptions, fn func(Event) error) (Format, error) {
	if _, err := ParseFormat(string(format)); err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	if format == FormatAuto || format == FormatSkeptic {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("history: %w", err)
		}
		defer f.Close()
		br := bufio.NewReaderSize(f, detectBytes)
		if format == FormatAuto {
			head, err := br.Peek(detectBytes)
			if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
				return "", fmt.Errorf("history: %s: %w", path, err)
			}
			if format, err = DetectFormat(head, path); err != nil {
				return "", err
			}
		}
		if format == FormatSkeptic {
			return format, Scan(br, path, fn)
		}
		f.Close()
	}
	events, format, err := ReadFileFormat(path, format, opts)
	if err != nil {
		return format, err
	}
	for _, e := range events {
		if err := fn(e); err != nil {
			return format, err
		}
	}
	return format, nil
}
