fn main() {
    // The app's config sits at the repository root (see ../shared/PLATFORM-NOTES.md).
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
        .expect("tauri build script");
}
