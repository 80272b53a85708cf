"""What serves a class on one server: the training queue and its training process, MNIST
prepared per pipeline, the class model and publishing, the instructor gate, the class's
drawings, the runs database, and `paths`, where every data location and environment
variable is read. It uses `model/`; `model/` never uses it. No Streamlit here.
"""
