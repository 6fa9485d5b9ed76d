// An integer literal is inferred as its field's type, so one that does not fit is refused.
use memtable::Table;

#[derive(Table)]
struct Sensor {
    #[memtable(primary_key)]
    id: i64,
    level: u8,
}

fn main() {
    let _ = Sensor::LEVEL.eq(300);
}
