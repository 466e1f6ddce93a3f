//! Docker's table layout, as Go's `tabwriter` renders it with minimum width 10
//! and padding 3: each column but the last is as wide as its widest cell plus
//! three spaces, and at least ten characters; the last column is not padded.

const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

/// Renders `rows` (the header first) as Docker's table, one line per row.
pub fn render<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns.saturating_sub(1))
        .map(|column| {
            let widest = rows
                .iter()
                .filter_map(|row| row.as_ref().get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            (widest + PADDING).max(MIN_WIDTH)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let row = row.as_ref();
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn pads_to_the_widest_cell_plus_three_and_at_least_ten() {
        let rows = [row(&["A", "LONGER HEADER", "Z"]), row(&["x", "y", "z"])];
        assert_eq!(
            render(&rows),
            "A         LONGER HEADER   Z\n\
             x         y               z\n"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        let rows = [row(&["NAME", "X"]), row(&["réseau-très-long", "y"])];
        assert_eq!(
            render(&rows),
            "NAME               X\nréseau-très-long   y\n"
        );
    }
}
