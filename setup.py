from setuptools import find_packages, setup

setup(
    name="banyan",
    version="0.1.0",
    description="A job scheduler whose whole state is a folder of small files",
    packages=find_packages(include=["banyan", "banyan.*"]),
    python_requires=">=3.10",
    install_requires=["bottle>=0.12.25", "watchdog>=7.1,<8", "psutil>=5.9",
                      "cheroot>=10"],
    extras_require={"test": ["pytest>=7", "pytest-timeout>=2.1", "schemathesis>=4"]},
    entry_points={"console_scripts": ["banyan=banyan.cli.main:main"]},
)
