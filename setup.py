"""tfnfrl: one normalizing-flow architecture as an RL agent's policy, Q-function and density."""

import setuptools

INSTALL_REQUIRES = [
    # TF 2.21 + TFP 0.25 + tf-keras 2.21 are the versions tested together; TFP imports
    # tf-keras, so it must be present even though the library's layers are Keras 3.
    "tensorflow>=2.21,<2.22",
    "tensorflow-probability>=0.25,<0.26",
    "tf-keras>=2.21,<2.22",
    "keras>=3.10",
    "gymnasium>=1.0",
    "ogbench>=1.2",
    "mujoco>=3.1",
    "absl-py",
    "ml-collections",
    "numpy",
    "tqdm",
    "matplotlib",
]

EXTRAS_REQUIRE = {
    "gpu": ["tensorflow[and-cuda]>=2.21,<2.22"],
    # LiteRT's interpreter for `.tflite` exports (tfnfrl.export.tflite); the tests run one.
    "litert": ["ai-edge-litert>=2.3"],
    "test": ["pytest>=8", "pytest-xdist>=3", "scipy", "ai-edge-litert>=2.3"],
}

setuptools.setup(
    name="tfnfrl",
    version="0.1.0",
    description=(
        "Normalizing flows as policies, Q-functions and occupancy densities for RL, "
        "in TensorFlow / Keras / TensorFlow Probability."
    ),
    packages=setuptools.find_packages(include=["tfnfrl", "tfnfrl.*"]),
    python_requires=">=3.11",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
