//! Reads what the real service would report about an uploaded file (`MediaMetaData`): its size
//! always, and for MP4-family files duration, resolution, bitrate and codecs, read with the
//! `mp4` crate straight from the stored blobs. A file it cannot parse still uploads; its
//! metadata then only has the size.

use crate::store::{ObjectMeta, Store};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use vod_protocol::wire::media::{MediaAudioStreamItem, MediaMetaData, MediaVideoStreamItem};

/// Extensions whose files are ISO base media (MP4 family) and worth parsing.
const MP4_FAMILY: &[&str] = &["mp4", "mov", "m4v", "m4a", "3gp", "f4v", "mp4v", "qt"];

/// Container name the real service reports for the MP4 family.
const MP4_CONTAINER: &str = "mov,mp4,m4a,3gp,3g2,mj2";

/// The metadata of a stored object of type `ext`; `extra_size` adds bytes that belong to the
/// media too (HLS segments).
pub async fn probe(store: &Store, obj: &ObjectMeta, ext: &str, extra_size: u64) -> MediaMetaData {
    let size = i64::try_from(obj.size.saturating_add(extra_size)).unwrap_or(i64::MAX);
    let meta = MediaMetaData {
        size,
        ..Default::default()
    };
    if !MP4_FAMILY.contains(&ext) {
        return meta;
    }
    let segments: Vec<(PathBuf, u64)> = obj
        .segments
        .iter()
        .map(|s| (store.blobs().path(&s.blob), s.size))
        .collect();
    let total = obj.size;
    // On the blocking pool: the parser does synchronous reads. A parser panic on hostile
    // input ends that task only and leaves the metadata empty.
    match tokio::task::spawn_blocking(move || read_mp4(SegmentReader::new(segments), total)).await {
        Ok(Some(parsed)) => MediaMetaData { size, ..parsed },
        Ok(None) => meta,
        Err(err) => {
            tracing::debug!(error = %err, "mp4 parser failed");
            meta
        }
    }
}

fn read_mp4(reader: SegmentReader, size: u64) -> Option<MediaMetaData> {
    let mp4 = mp4::Mp4Reader::read_header(reader, size).ok()?;
    let duration = mp4.duration().as_secs_f64();
    let mut meta = MediaMetaData {
        container: MP4_CONTAINER.to_owned(),
        duration,
        ..Default::default()
    };
    let mut tracks: Vec<&mp4::Mp4Track> = mp4.tracks().values().collect();
    tracks.sort_by_key(|t| t.track_id());
    for track in tracks {
        let codec = track
            .media_type()
            .map(|m| m.to_string().to_ascii_lowercase())
            .unwrap_or_default();
        let bitrate = i64::from(track.bitrate());
        match track.track_type() {
            Ok(mp4::TrackType::Video) => {
                let item = MediaVideoStreamItem {
                    bitrate,
                    height: i64::from(track.height()),
                    width: i64::from(track.width()),
                    codec,
                    fps: track.frame_rate().round() as i64,
                    codec_tag: track.box_type().map(|b| b.to_string()).unwrap_or_default(),
                };
                if meta.video_stream_set.is_empty() {
                    meta.width = item.width;
                    meta.height = item.height;
                    meta.video_duration = track.duration().as_secs_f64();
                }
                meta.video_stream_set.push(item);
            }
            Ok(mp4::TrackType::Audio) => {
                if meta.audio_stream_set.is_empty() {
                    meta.audio_duration = track.duration().as_secs_f64();
                }
                meta.audio_stream_set.push(MediaAudioStreamItem {
                    bitrate,
                    sampling_rate: track
                        .sample_freq_index()
                        .map(|f| i64::from(f.freq()))
                        .unwrap_or_default(),
                    codec,
                });
            }
            Ok(mp4::TrackType::Subtitle) | Err(_) => {}
        }
    }
    meta.bitrate = meta
        .video_stream_set
        .iter()
        .map(|v| v.bitrate)
        .chain(meta.audio_stream_set.iter().map(|a| a.bitrate))
        .sum();
    Some(meta)
}

/// `Read + Seek` over an object's blob files in order, opening one file at a time.
struct SegmentReader {
    segments: Vec<(PathBuf, u64)>,
    pos: u64,
    open: Option<(usize, File)>,
}

impl SegmentReader {
    fn new(segments: Vec<(PathBuf, u64)>) -> Self {
        Self {
            segments,
            pos: 0,
            open: None,
        }
    }

    fn len(&self) -> u64 {
        self.segments.iter().map(|(_, s)| s).sum()
    }
}

impl Read for SegmentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut start = 0u64;
        for (i, (path, size)) in self.segments.iter().enumerate() {
            let end = start + size;
            if self.pos < end {
                let offset = self.pos - start;
                if self.open.as_ref().map(|(j, _)| *j) != Some(i) {
                    self.open = Some((i, File::open(path)?));
                }
                let Some((_, file)) = self.open.as_mut() else {
                    return Ok(0);
                };
                file.seek(SeekFrom::Start(offset))?;
                let want = usize::try_from((end - self.pos).min(buf.len() as u64)).unwrap_or(0);
                let n = file.read(&mut buf[..want])?;
                self.pos += n as u64;
                return Ok(n);
            }
            start = end;
        }
        Ok(0)
    }
}

impl Seek for SegmentReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => i128::from(n),
            SeekFrom::End(d) => i128::from(self.len()) + i128::from(d),
            SeekFrom::Current(d) => i128::from(self.pos) + i128::from(d),
        };
        self.pos = u64::try_from(target)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn segment_reader_reads_across_files_and_seeks() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"hello ").unwrap();
        std::fs::write(&b, b"world").unwrap();
        let mut r = SegmentReader::new(vec![(a, 6), (b, 5)]);
        let mut all = String::new();
        r.read_to_string(&mut all).unwrap();
        assert_eq!(all, "hello world");
        r.seek(SeekFrom::End(-3)).unwrap();
        let mut tail = String::new();
        r.read_to_string(&mut tail).unwrap();
        assert_eq!(tail, "rld");
    }

    #[test]
    fn garbage_is_not_an_mp4() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, vec![7u8; 1000]).unwrap();
        assert!(read_mp4(SegmentReader::new(vec![(a, 1000)]), 1000).is_none());
    }
}
