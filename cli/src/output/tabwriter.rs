//! Go's `text/tabwriter` with Docker's settings (minimum width 10, padding
//! 3, spaces), for `--format 'table …'`: tab-terminated cells line up in
//! columns; a column's width is set per block of consecutive lines that
//! have it; the last cell of a line is never padded; a line without tabs
//! ends the layout, as Go flushes there.

const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

/// Aligns the tab-separated cells of `text`.
pub fn align(text: &str) -> String {
    let mut out = String::new();
    let mut batch: Vec<Vec<&str>> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len() - 1;
    for (i, line) in lines.into_iter().enumerate() {
        let cells: Vec<&str> = line.split('\t').collect();
        let single = cells.len() == 1;
        batch.push(cells);
        if single && i < last {
            // Go flushes after a line of one cell.
            Layout::new(&batch).write(&mut out, true);
            batch.clear();
        }
    }
    Layout::new(&batch).write(&mut out, false);
    out
}

struct Layout<'a> {
    lines: &'a [Vec<&'a str>],
    /// Widths of the columns of the block being written.
    widths: Vec<usize>,
    /// Lines written so far.
    written: usize,
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

impl<'a> Layout<'a> {
    fn new(lines: &'a [Vec<&'a str>]) -> Self {
        Layout {
            lines,
            widths: Vec::new(),
            written: 0,
        }
    }

    /// Writes all lines; with `newline_after_last` the last gets one too.
    fn write(mut self, out: &mut String, newline_after_last: bool) {
        if self.lines.is_empty() {
            return;
        }
        self.format(out, 0, self.lines.len());
        if newline_after_last {
            out.push('\n');
        }
    }

    /// Go's `Writer.format`: finds the blocks of lines that have a cell in
    /// the next column, sizes the column per block, and recurses.
    fn format(&mut self, out: &mut String, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(out, line0, this);
            line0 = this;
            let mut column_width = MIN_WIDTH;
            while this < line1 && column + 1 < self.lines[this].len() {
                column_width = column_width.max(width(self.lines[this][column]) + PADDING);
                this += 1;
            }
            self.widths.push(column_width);
            self.format(out, line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(out, line0, line1);
    }

    fn write_lines(&mut self, out: &mut String, line0: usize, line1: usize) {
        for line in &self.lines[line0..line1] {
            if self.written > 0 {
                out.push('\n');
            }
            for (j, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if let Some(&w) = self.widths.get(j) {
                    out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
                }
            }
            self.written += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_like_docker_tables() {
        assert_eq!(
            align("NETWORK ID\tNAME\n7fca4eb8c647\tbridge\ncf03ee007fb4\thost\n"),
            "NETWORK ID     NAME\n\
             7fca4eb8c647   bridge\n\
             cf03ee007fb4   host\n"
        );
        assert_eq!(
            align("A\tB\tC\nx\tyyyyyyyyyyyy\tz\n"),
            "A         B              C\nx         yyyyyyyyyyyy   z\n"
        );
    }

    #[test]
    fn last_cell_is_not_padded_and_counts_characters() {
        assert_eq!(align("é\tx\t\n"), "é         x         \n");
        assert_eq!(align("réseau-très-long\ty\n"), "réseau-très-long   y\n");
    }

    #[test]
    fn blocks_are_sized_separately() {
        // The second line has no tab: it ends the first layout.
        assert_eq!(
            align("a-long-cell-here\tb\nno tabs\nc\td\n"),
            "a-long-cell-here   b\nno tabs\nc         d\n"
        );
        // A line with fewer cells splits the column into blocks.
        assert_eq!(
            align("aaaaaaaaaaaa\tb\tc\nx\ty\nlong-cell-value\tz\tw\n"),
            "aaaaaaaaaaaa      b         c\n\
             x                 y\n\
             long-cell-value   z         w\n"
        );
    }

    #[test]
    fn empty_and_unterminated_input() {
        assert_eq!(align(""), "");
        assert_eq!(align("a\tb"), "a         b");
        assert_eq!(align("\n\n"), "\n\n");
    }
}
