"""Every lesson runs headlessly and draws its figures."""
import runpy


def test_audio_to_spikes_lesson_draws_the_fsdd_front_end(tmp_path, data_dir):
    lesson = runpy.run_path("lessons/02_audio_to_spikes.py")
    path = lesson["main"](str(tmp_path), str(data_dir))
    with open(path, "rb") as f:
        assert f.read(4) == b"\x89PNG"
