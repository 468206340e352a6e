//! What the file system promises about change times: whether a change that follows a
//! look at a file's ctime always gets a new one (see [`stamps_observed_changes`]).

use std::os::fd::BorrowedFd;

/// Whether the file system under `fd` stamps every change of a file whose change time
/// someone has looked at with a new, later change time, even within one tick of its
/// clock: Linux's multigrain timestamps (kernel 6.13 and later, on ext4, XFS, Btrfs and
/// tmpfs). Once dirkv has `fstat`ed a file, no later change to it, and no file that takes
/// its inode number after it is gone, can show the same change time. `false` wherever
/// that is not known (older kernels, other file systems, other systems).
pub(crate) fn stamps_observed_changes(fd: BorrowedFd<'_>) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        const EXT4: u64 = 0xEF53;
        const XFS: u64 = 0x5846_5342;
        const BTRFS: u64 = 0x9123_683E;
        const TMPFS: u64 = 0x0102_1994;
        let uname = rustix::system::uname();
        if !kernel_at_least(uname.release().to_bytes(), (6, 13)) {
            return false;
        }
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        rustix::fs::fstatfs(fd).is_ok_and(|st| {
            // `f_type` is signed on some targets; the magic numbers are 32-bit.
            let kind = (st.f_type as i64 as u64) & 0xFFFF_FFFF;
            [EXT4, XFS, BTRFS, TMPFS].contains(&kind)
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = fd;
        false
    }
}

/// Whether a kernel release string (`6.18.44-foo`) is at least `major.minor`.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn kernel_at_least(release: &[u8], (major, minor): (u32, u32)) -> bool {
    let text = String::from_utf8_lossy(release);
    let mut parts = text.split(['.', '-']).map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::kernel_at_least;

    #[test]
    fn kernel_releases_compare_by_major_and_minor() {
        assert!(kernel_at_least(b"6.18.44-fc-v1045", (6, 13)));
        assert!(kernel_at_least(b"6.13", (6, 13)));
        assert!(kernel_at_least(b"7.0.1", (6, 13)));
        assert!(!kernel_at_least(b"6.12.9-arch1", (6, 13)));
        assert!(!kernel_at_least(b"5.15.0-91-generic", (6, 13)));
        assert!(!kernel_at_least(b"", (6, 13)));
        assert!(!kernel_at_least(b"six.thirteen", (6, 13)));
    }
}
